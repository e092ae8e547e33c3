/* Buttons that print the page (data-print) or go back (data-back): no inline handlers,
   so that the Content-Security-Policy can refuse every inline script without a nonce. */
(function () {
  'use strict';
  document.addEventListener('click', function (event) {
    var target = event.target.closest ? event.target.closest('[data-print], [data-back]') : null;
    if (!target) { return; }
    event.preventDefault();
    if (target.hasAttribute('data-print')) { window.print(); } else if (window.history.length > 1) { window.history.back(); } else { window.location.href = target.getAttribute('href') || '/'; }
  });
})();
