// Shared by the IdP's page scripts: POST to the IdP's own JSON endpoints. Resolves with the JSON
// answer; rejects with an Error whose `server` holds the {error, error_description} of a 4xx/5xx.
(function () {
  'use strict';
  window.jmbPostJson = function (url, body) {
    return fetch(url, {
      method: 'POST',
      credentials: 'same-origin',
      headers: body ? { 'content-type': 'application/json', accept: 'application/json' } : { accept: 'application/json' },
      body: body ? JSON.stringify(body) : undefined,
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (json) {
        if (!response.ok) {
          var error = new Error(json.error || 'request_failed');
          error.server = json;
          throw error;
        }
        return json;
      });
    });
  };
})();
