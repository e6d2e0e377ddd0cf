// The passkey offer after a password log-in shows itself only where this browser can make a passkey
// with the device's own screen lock; elsewhere it moves on by itself, so the member never sees an
// offer they cannot take up.
(function () {
  'use strict';
  var offer = document.getElementById('passkey-offer');
  var skip = document.getElementById('offer-skip');
  if (!offer || !skip) return;
  offer.hidden = true;
  var pkc = window.PublicKeyCredential;
  function decide(capable) {
    if (capable) offer.hidden = false;
    else skip.submit();
  }
  if (!pkc) return decide(false);
  var check = typeof pkc.getClientCapabilities === 'function'
    ? pkc.getClientCapabilities().then(function (c) { return !!(c.userVerifyingPlatformAuthenticator || c.passkeyPlatformAuthenticator); })
    : typeof pkc.isUserVerifyingPlatformAuthenticatorAvailable === 'function'
      ? pkc.isUserVerifyingPlatformAuthenticatorAvailable()
      : Promise.resolve(false);
  check.then(decide, function () { decide(false); });
})();
