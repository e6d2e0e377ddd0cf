// The log-in page's passkey ceremony: a button (modal request) and, where the browser supports it,
// an autofill (conditional) request started on load. Uses @simplewebauthn/browser served by the IdP.
// Where the browser offers immediate mediation, the first press of the button on a sign-in's log-in
// page asks with it first (passkey-immediate.js): a passkey on this device gets the browser's sheet
// straight away, and without one the ordinary request follows at once, as before.
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

  // The ceremony for one set of options: immediate first when asked to, then the ordinary request if
  // that did not give a passkey (none on this device, the member closed the sheet to use another, or
  // the browser would not make it).
  function ceremony(optionsJSON, autofill, immediate) {
    if (!immediate) return swa.startAuthentication({ optionsJSON: optionsJSON, useBrowserAutofill: autofill });
    var asked;
    try {
      asked = window.jmbImmediatePasskey.get(optionsJSON, immediate);
    } catch (error) {
      asked = Promise.reject(error);
    }
    return asked.catch(function (error) {
      // Ended by another press of the button, which has its own ceremony.
      if (error && error.name === 'AbortError') throw error;
      return swa.startAuthentication({ optionsJSON: optionsJSON });
    });
  }

  function run(autofill, immediate) {
    // Autofill starting again after the button must not hide what the button's ceremony said.
    if (!autofill) {
      alertBox.hidden = true;
      status.textContent = data.msgWorking;
    }
    var assertion;
    return post(data.optionsUrl)
      .then(function (optionsJSON) { return ceremony(optionsJSON, autofill, immediate); })
      .then(function (response) { assertion = response; return post(data.verifyUrl, response); })
      .then(function (result) {
        var s = result.signals;
        return Promise.all([
          signal('signalAllAcceptedCredentials', { rpId: s.rpId, userId: s.userId, allAcceptedCredentialIds: s.allAcceptedCredentialIds }),
          signal('signalCurrentUserDetails', { rpId: s.rpId, userId: s.userId, name: s.name, displayName: s.displayName }),
        ]).then(function () {
          window.location.assign(result.redirectTo);
          return true;
        });
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

  // Autofill runs while the page waits; a press of the button ends it (one WebAuthn request at a
  // time), so it starts again when the button's ceremony ended without logging in.
  var autofill = swa.browserSupportsWebAuthnAutofill().catch(function () { return false; });
  function startAutofill() {
    autofill.then(function (supported) { if (supported) run(true); });
  }
  // Immediate mediation is asked for once per sign-in: on the first press of the button, on a log-in
  // page that is not the answer to a refused try (a wrong password, a wait), and never again after,
  // reloaded or not (the member may have closed the browser's sheet).
  var askedKey = 'jmb.immediate:' + data.optionsUrl;
  function remembered(write) {
    try {
      if (write) window.sessionStorage.setItem(askedKey, '1');
      return window.sessionStorage.getItem(askedKey) === '1';
    } catch (error) {
      return write;
    }
  }
  var immediate = pageAlert || !window.jmbImmediatePasskey || remembered(false) ? Promise.resolve(undefined) : window.jmbImmediatePasskey.spelling();
  var presses = 0;

  button.addEventListener('click', function () {
    var press = ++presses;
    immediate.then(function (spelt) {
      if (press !== 1 || !spelt) return run(false);
      remembered(true);
      return run(false, spelt);
    }).then(function (loggedIn) {
      // A later press has its own ceremony under way: it restarts autofill when it ends.
      if (!loggedIn && press === presses) startAutofill();
    });
  });
  startAutofill();
})();
