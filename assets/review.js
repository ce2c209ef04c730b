// The review page's "jump to timecode": a finding's link seeks the proxy player instead of
// opening the video on its own (the link still works without scripts).
document.addEventListener("click", (event) => {
  const link = event.target.closest("a.jump");
  const video = document.getElementById("proxy");
  if (!link || !video) return;
  event.preventDefault();
  video.currentTime = parseFloat(link.dataset.t);
  video.play();
});
