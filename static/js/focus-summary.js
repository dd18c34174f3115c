// The error summary (issue 13). Without script it takes the focus by its autofocus and
// its links are plain "#field" links. With script:
// - its links move the focus to their field without putting "#field" in the address:
//   a browser skips autofocus on a page whose address has a fragment, so the next failed
//   submit would focus that field instead of the new summary;
// - it takes the focus once the page is loaded, in case the address has a fragment anyway.
document.addEventListener("click", (event) => {
  const link = event.target.closest(".error-summary a[href^='#']");
  const field = link && document.getElementById(link.getAttribute("href").slice(1));
  if (field) {
    event.preventDefault();
    field.focus();
    field.scrollIntoView({ block: "center" });
  }
});
window.addEventListener("load", () => {
  const summary = document.querySelector("[data-takes-focus]");
  if (summary && document.activeElement !== summary) {
    summary.focus();
  }
});
