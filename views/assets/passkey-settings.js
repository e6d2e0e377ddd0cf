// Passkey Settings: "New registration" runs the WebAuthn creation ceremony; after a delete the page
// tells the browser which passkeys remain (WebAuthn Signal API), so the deleted one stops being offered.
(function () {
  'use strict';
  var section = document.getElementById('registration');
  if (!section) return;
  var data = section.dataset;
  var pkc = window.PublicKeyCredential;

  if (data.signalIds !== undefined && pkc && typeof pkc.signalAllAcceptedCredentials === 'function') {
    pkc.signalAllAcceptedCredentials({
      rpId: data.signalRpId,
      userId: data.signalUserId,
      allAcceptedCredentialIds: data.signalIds ? data.signalIds.split(',') : [],
    }).catch(function () {});
  }

  var button = document.getElementById('new-registration');
  var swa = window.SimpleWebAuthnBrowser;
  var status = document.getElementById('registration-status');
  var alertBox = document.getElementById('registration-alert');
  if (!button) return;

  function show(text) {
    status.textContent = '';
    alertBox.textContent = text;
    alertBox.hidden = false;
  }
  // Without the WebAuthn library (it did not load) or WebAuthn itself, the button stays disabled, and says why.
  if (!swa || !swa.browserSupportsWebAuthn()) {
    button.disabled = true;
    show(data.msgUnsupported);
    return;
  }

  var post = window.jmbPostJson;

  button.addEventListener('click', function () {
    alertBox.hidden = true;
    status.textContent = data.msgWorking;
    button.disabled = true;
    post(data.optionsUrl)
      .then(function (optionsJSON) { return swa.startRegistration({ optionsJSON: optionsJSON }); })
      .then(function (response) { return post(data.registerUrl, response); })
      .then(function (result) { window.location.assign(result.redirectTo); })
      .catch(function (error) {
        button.disabled = false;
        if (error && error.server) return show(error.server.error_description || data.msgFailed);
        if (error && (error.code === 'ERROR_AUTHENTICATOR_PREVIOUSLY_REGISTERED' || error.name === 'InvalidStateError')) return show(data.msgExists);
        // Cancelling the device prompt is the member's choice, not a failure: say so quietly.
        if (error && error.name === 'NotAllowedError') { status.textContent = data.msgCancelled; return; }
        show(data.msgFailed);
      });
  });
  // The button comes disabled until now, so that a press before this script ran is not lost silently.
  button.disabled = false;
})();
