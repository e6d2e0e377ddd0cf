// A wait on the log-in page counts down to its end, then the form is usable again. The page works
// without this script: the alert names the time, and a try before it is refused again, saying so.
(function () {
  'use strict';
  var box = document.getElementById('login-wait');
  var seconds = box ? Number(box.dataset.seconds) : 0;
  var number = document.getElementById('number');
  if (!(seconds > 0) || !number) return;
  var countdown = document.getElementById('wait-countdown');
  var status = document.getElementById('wait-status');
  var submit = number.form && number.form.querySelector('button[type="submit"]');
  var end = Date.now() + seconds * 1000;
  var normal = function (value) { return value.replace(/[\s-]/g, ''); };
  var waitingFor = normal(number.value);

  // passkey-login.js shows the passkey button where this browser can use it: only then is it a way round.
  var passkey = document.getElementById('passkey-button');
  if (passkey && !passkey.hidden) document.getElementById('wait-passkey').hidden = false;

  // The wait is on the number typed: another number may be tried at once.
  function hold() {
    if (submit) submit.disabled = normal(number.value) === waitingFor;
  }

  function clock(left) {
    return Math.floor(left / 60) + ':' + String(left % 60).padStart(2, '0');
  }

  // The visible countdown changes every second but is no live region; only its end is announced.
  var timer;
  function tick() {
    var left = Math.ceil((end - Date.now()) / 1000);
    if (left > 0) {
      countdown.textContent = box.dataset.countdown.replace('{time}', clock(left));
      return;
    }
    clearInterval(timer);
    countdown.hidden = true;
    // What was said about the wait, and the ways round it, are over with it.
    document.querySelectorAll('[data-while-waiting]').forEach(function (element) { element.hidden = true; });
    number.removeEventListener('input', hold);
    if (submit) submit.disabled = false;
    status.textContent = box.dataset.ready;
  }

  box.hidden = false;
  countdown.hidden = false;
  tick();
  hold();
  number.addEventListener('input', hold);
  timer = setInterval(tick, 1000);
})();
