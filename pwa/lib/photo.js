// Photos are shrunk on the phone (at most 1600 px, JPEG) before they are stored: a cheap
// phone's 12 MP photo would fill its storage and take minutes on a weak signal.
const MAX = 1600;

function decode(file) {
  if (self.createImageBitmap) return createImageBitmap(file).catch(() => viaImg(file));
  return viaImg(file);
}

function viaImg(file) {
  return new Promise((resolve, reject) => {
    const img = new Image();
    const url = URL.createObjectURL(file);
    img.onload = () => resolve(img);
    img.onerror = () => reject(new Error("not an image"));
    img.src = url;
  });
}

export async function prepare(file) {
  if (!crypto.subtle) throw new Error("https"); // SHA-256 needs a secure context
  const src = await decode(file);
  const w0 = src.width || src.naturalWidth;
  const h0 = src.height || src.naturalHeight;
  const k = Math.min(1, MAX / Math.max(w0, h0));
  const canvas = document.createElement("canvas");
  canvas.width = Math.round(w0 * k);
  canvas.height = Math.round(h0 * k);
  canvas.getContext("2d").drawImage(src, 0, 0, canvas.width, canvas.height);
  if (src.close) src.close();
  const blob = await new Promise((r) => canvas.toBlob(r, "image/jpeg", 0.8));
  const digest = await crypto.subtle.digest("SHA-256", await blob.arrayBuffer());
  const sha = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
  return { sha, blob };
}
