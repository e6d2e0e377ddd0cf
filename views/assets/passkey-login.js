// The log-in page's passkey ceremony: a button (modal request) and, where the browser supports it,
// an autofill (conditional) request started on load. Uses @simplewebauthn/browser served by the IdP.
(function () {
  'use strict';
  var section = document.getElementById('passkey');
  // An error from the server (a wrong password) takes focus, so screen readers announce it.
  var pageAlert = document.getElementById('login-error');
  if (pageAlert) {
    pageAlert.setAttribute('tabindex', '-1');
    pageAlert.focus();
  }
  var copy = document.getElementById('copy-url');
  if (copy) {
    copy.addEventListener('click', function () {
      var field = document.getElementById('page-url');
      field.select();
      var done = function () { document.getElementById('copy-status').textContent = copy.dataset.copied; };
      if (navigator.clipboard) navigator.clipboard.writeText(field.value).then(done, function () { document.execCommand('copy'); done(); });
      else { document.execCommand('copy'); done(); }
    });
  }
  var button = document.getElementById('passkey-button');
  if (!section || !button || !window.SimpleWebAuthnBrowser) return;
  var swa = window.SimpleWebAuthnBrowser;
  var data = section.dataset;
  var alertBox = document.getElementById('passkey-alert');
  var status = document.getElementById('passkey-status');

  if (!swa.browserSupportsWebAuthn()) {
    document.getElementById('passkey-unsupported').hidden = false;
    return;
  }
  button.hidden = false;
  document.getElementById('passkey-hint').hidden = false;
  // Without a built-in authenticator the button still works: the browser offers a phone nearby.
  swa.platformAuthenticatorIsAvailable().then(function (available) {
    if (!available) document.getElementById('passkey-no-platform').hidden = false;
  }, function () {});


  // One alert on the page at a time: a new one replaces the server's (a wrong password) and ours.
  function showError(text) {
    status.textContent = '';
    if (pageAlert) pageAlert.hidden = true;
    alertBox.textContent = text;
    alertBox.hidden = false;
  }

  var post = window.jmbPostJson;

  // The WebAuthn Signal API keeps the device's passkey list in step with the IdP, where supported.
  function signal(name, options) {
    var pkc = window.PublicKeyCredential;
    if (!pkc || typeof pkc[name] !== 'function') return Promise.resolve();
    return pkc[name](options).catch(function () {});
  }

  function run(autofill) {
    alertBox.hidden = true;
    if (!autofill) status.textContent = data.msgWorking;
    var assertion;
    return post(data.optionsUrl)
      .then(function (optionsJSON) { return swa.startAuthentication({ optionsJSON: optionsJSON, useBrowserAutofill: autofill }); })
      .then(function (response) { assertion = response; return post(data.verifyUrl, response); })
      .then(function (result) {
        var s = result.signals;
        return Promise.all([
          signal('signalAllAcceptedCredentials', { rpId: s.rpId, userId: s.userId, allAcceptedCredentialIds: s.allAcceptedCredentialIds }),
          signal('signalCurrentUserDetails', { rpId: s.rpId, userId: s.userId, name: s.name, displayName: s.displayName }),
        ]).then(function () { window.location.assign(result.redirectTo); });
      })
      .catch(function (error) {
        if (error && error.server) {
          if (error.server.error === 'unknown_credential' && assertion) {
            signal('signalUnknownCredential', { rpId: data.rpId, credentialId: assertion.id });
          }
          return showError(error.server.error_description || data.msgFailed);
        }
        // The browser ends or aborts an autofill request as it likes (a tab change, the button, a
        // field losing focus): the member did nothing, so there is nothing to tell them.
        if (autofill) return;
        if (error && (error.code === 'ERROR_CEREMONY_ABORTED' || error.name === 'AbortError')) return;
        if (error && error.name === 'NotAllowedError') return showError(data.msgCancelled);
        showError(data.msgFailed);
      });
  }

  button.addEventListener('click', function () { run(false); });
  swa.browserSupportsWebAuthnAutofill().then(function (supported) { if (supported) run(true); });
})();
