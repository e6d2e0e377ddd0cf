// A page re-rendered with an error moves focus to it, so that screen readers announce it and the
// member sees what to fix.
(function () {
  'use strict';
  var alert = document.querySelector('[role="alert"][tabindex="-1"]:not([hidden])');
  if (alert) alert.focus();
})();
