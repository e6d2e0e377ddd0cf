// The SMS step: counts down until "Resend code" may be used, and fills in the code where the phone
// offers it (WebOTP reads the origin-bound last line of the message).
(function () {
  'use strict';
  var alert = document.getElementById('sms-error');
  if (alert) alert.focus();

  var resend = document.getElementById('resend');
  var wait = document.getElementById('resend-wait');
  var seconds = resend ? Number(resend.dataset.wait) || 0 : 0;
  if (resend && seconds > 0) {
    resend.disabled = true;
    var timer = setInterval(function () {
      seconds -= 1;
      if (seconds <= 0) {
        clearInterval(timer);
        resend.disabled = false;
        if (wait) wait.hidden = true;
        return;
      }
      if (wait) wait.textContent = wait.dataset.template.replace('{seconds}', String(seconds));
    }, 1000);
  }

  var form = document.getElementById('sms-verify');
  var input = document.getElementById('code');
  if (!form || !input) return;
  // Six digits, typed, pasted or filled in by the phone, are the whole code: send it at once.
  var sent = false;
  function submitWhenComplete() {
    var digits = input.value.replace(/\s/g, '');
    if (sent || !/^\d{6}$/.test(digits)) return;
    sent = true;
    input.value = digits;
    if (typeof form.requestSubmit === 'function') form.requestSubmit();
    else form.submit();
  }
  input.addEventListener('input', submitWhenComplete);
  // Digits typed or filled in before this script ran count too; a value the browser put back on
  // "Back" is a code already used, which waits for the member.
  var navigation = window.performance && performance.getEntriesByType ? performance.getEntriesByType('navigation')[0] : null;
  if (!navigation || navigation.type !== 'back_forward') submitWhenComplete();
  if (!('OTPCredential' in window)) return;
  var abort = new AbortController();
  form.addEventListener('submit', function () { abort.abort(); });
  navigator.credentials.get({ otp: { transport: ['sms'] }, signal: abort.signal }).then(function (otp) {
    if (otp && otp.code) {
      input.value = otp.code;
      submitWhenComplete();
    }
  }).catch(function () {});
})();
