// WebAuthn immediate mediation: a request the browser answers with its sheet only when a passkey for
// JMB is on this device, and otherwise refuses at once (NotAllowedError) without showing anything.
// The browser says it can through PublicKeyCredential.getClientCapabilities().immediateGet. Chromium
// spells the request `uiMode: "immediate"`; the first drafts of the feature spelt it
// `mediation: "immediate"`. Browsers also require a user activation (a click) for it, so it cannot
// be made as the page loads. @simplewebauthn/browser cannot make this request: it is built here.
(function () {
  'use strict';

  // Each probe throws from a member of the request the browser reads only if it knows it, before any
  // ceremony could begin: nothing is shown, and no activation is needed.
  function reads(request, marker) {
    try {
      return navigator.credentials.get(request).then(function () { return false; }, function (error) { return error === marker; });
    } catch (error) {
      return Promise.resolve(error === marker);
    }
  }

  /** Resolves with the member of the request that asks for immediate mediation here, or undefined. */
  function spelling() {
    var pkc = window.PublicKeyCredential;
    if (!pkc || typeof pkc.getClientCapabilities !== 'function' || !navigator.credentials) return Promise.resolve(undefined);
    return pkc.getClientCapabilities().then(function (capabilities) {
      if (!capabilities || capabilities.immediateGet !== true) return undefined;
      var marker = new Error('probe');
      var uiMode = {};
      Object.defineProperty(uiMode, 'uiMode', { enumerable: true, get: function () { throw marker; } });
      return reads(uiMode, marker).then(function (known) {
        if (known) return 'uiMode';
        // Dictionary members are read in alphabetical order: an unknown "immediate" fails on
        // `mediation` with a TypeError before `publicKey` is read.
        var mediation = { mediation: 'immediate' };
        Object.defineProperty(mediation, 'publicKey', { enumerable: true, get: function () { throw marker; } });
        return reads(mediation, marker).then(function (spelt) { return spelt ? 'mediation' : undefined; });
      });
    }).catch(function () { return undefined; });
  }

  function requestOptions(optionsJSON) {
    var pkc = window.PublicKeyCredential;
    if (typeof pkc.parseRequestOptionsFromJSON === 'function') return pkc.parseRequestOptionsFromJSON(optionsJSON);
    var swa = window.SimpleWebAuthnBrowser;
    return Object.assign({}, optionsJSON, {
      challenge: swa.base64URLStringToBuffer(optionsJSON.challenge),
      allowCredentials: (optionsJSON.allowCredentials || []).map(function (descriptor) {
        return Object.assign({}, descriptor, { id: swa.base64URLStringToBuffer(descriptor.id) });
      }),
    });
  }

  // The JSON the IdP verifies, as @simplewebauthn/browser's startAuthentication gives it.
  function responseJSON(credential) {
    if (typeof credential.toJSON === 'function') return credential.toJSON();
    var encode = window.SimpleWebAuthnBrowser.bufferToBase64URLString;
    var response = credential.response;
    return {
      id: credential.id,
      rawId: encode(credential.rawId),
      type: credential.type,
      response: {
        authenticatorData: encode(response.authenticatorData),
        clientDataJSON: encode(response.clientDataJSON),
        signature: encode(response.signature),
        userHandle: response.userHandle ? encode(response.userHandle) : undefined,
      },
      clientExtensionResults: credential.getClientExtensionResults(),
      authenticatorAttachment: credential.authenticatorAttachment || undefined,
    };
  }

  window.jmbImmediatePasskey = {
    spelling: spelling,
    /**
     * Asks once with immediate mediation, spelt as `spelling` resolved. Aborts the page's other
     * WebAuthn request (autofill) first: the two cannot run at the same time.
     */
    get: function (optionsJSON, spelt) {
      var request = {
        publicKey: requestOptions(optionsJSON),
        signal: window.SimpleWebAuthnBrowser.WebAuthnAbortService.createNewAbortSignal(),
      };
      request[spelt] = 'immediate';
      return navigator.credentials.get(request).then(function (credential) {
        if (!credential) throw new DOMException('no credential', 'NotAllowedError');
        return responseJSON(credential);
      });
    },
  };
})();
