// The upload tray's state and how attachments are named and sized (static/js/attachments.js).
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  MAX_ATTACHMENTS,
  addFiles,
  attachmentCountLabel,
  attachmentSummary,
  emptyTray,
  fitWithin,
  formatSize,
  newTray,
  removeItem,
  setFailed,
  setProgress,
  setUploaded,
  trayStatus,
  uploadName,
} from "../../src/tidings/web/static/js/attachments.js";

const MiB = 1024 * 1024;
const file = (name, size, type = "") => ({ name, size, type });
const view = (id, kind = "file") => ({ id, kind, filename: `f${id}`, size: 10, url: `/api/attachments/${id}` });

test("sizes read as people read them", () => {
  assert.equal(formatSize(0), "0 B");
  assert.equal(formatSize(1023), "1023 B");
  assert.equal(formatSize(1024), "1 KB");
  assert.equal(formatSize(1536), "1.5 KB");
  assert.equal(formatSize(25 * MiB), "25 MB");
  assert.equal(formatSize(3.25 * MiB), "3.3 MB");
  assert.equal(formatSize(1024 * 1024 - 1), "1 MB");
  assert.equal(formatSize(5 * 1024 * MiB), "5 GB");
});

test("pictures are fitted within a box, never enlarged, keeping their shape", () => {
  assert.deepEqual(fitWithin(4000, 3000, 280), { width: 280, height: 210 });
  assert.deepEqual(fitWithin(600, 1200, 280), { width: 140, height: 280 });
  assert.deepEqual(fitWithin(100, 50, 280), { width: 100, height: 50 });
  assert.deepEqual(fitWithin(10000, 1, 280), { width: 280, height: 1 });
  assert.equal(fitWithin(null, null, 280), null);
});

test("a name too long for the server is cut, keeping its extension", () => {
  assert.equal(uploadName("holiday.jpg"), "holiday.jpg");
  assert.equal(uploadName(""), "file");
  const long = `${"é".repeat(300)}.tar.gz`;
  const cut = uploadName(long);
  assert.equal([...cut].length, 255);
  assert.ok(cut.endsWith(".gz"));
});

test("labels: quotes count attachments, the sidebar names their kind", () => {
  assert.equal(attachmentCountLabel(1), "📎 1 attachment");
  assert.equal(attachmentCountLabel(3), "📎 3 attachments");
  assert.equal(attachmentSummary([view(1, "image")]), "📎 Photo");
  assert.equal(attachmentSummary([view(1, "file")]), "📎 File");
  assert.equal(attachmentSummary([view(1, "video")]), "📎 Video");
  assert.equal(attachmentSummary([view(1, "image"), view(2, "image")]), "📎 2 photos");
  assert.equal(attachmentSummary([view(1, "image"), view(2, "file")]), "📎 2 files");
});

test("files upload, then count for Send; Send waits for uploads in progress", () => {
  const tray = newTray();
  assert.deepEqual(trayStatus(tray, ""), { attachments: [], uploading: 0, canSend: false, hint: null });
  assert.equal(trayStatus(tray, " hi ").canSend, true);
  const [photo, notes] = addFiles(tray, [file("a.png", 2000, "image/png"), file("notes.txt", 30)], { maxBytes: MiB });
  assert.equal(photo.image, true);
  assert.equal(notes.image, false);
  let status = trayStatus(tray, "hello");
  assert.equal(status.uploading, 2);
  assert.equal(status.canSend, false);
  assert.match(status.hint, /Uploading 2 files…/);
  setProgress(tray, photo.key, 5000); // never more than the file
  assert.equal(photo.loaded, 2000);
  setUploaded(tray, photo.key, view(7, "image"));
  status = trayStatus(tray, "");
  assert.equal(status.uploading, 1);
  assert.match(status.hint, /Uploading 1 file…/);
  setUploaded(tray, notes.key, view(8));
  status = trayStatus(tray, "");
  assert.deepEqual(status.attachments.map((a) => a.id), [7, 8]); // the tray's order
  assert.equal(status.canSend, true); // attachments alone
  assert.equal(status.hint, null);
});

test("a failed upload says why and is not sent; the others still are", () => {
  const tray = newTray();
  const [a, b] = addFiles(tray, [file("a.png", 10, "image/png"), file("b.png", 10, "image/png")]);
  setFailed(tray, a.key, "The image is too large.");
  setUploaded(tray, b.key, view(2, "image"));
  const status = trayStatus(tray, "");
  assert.equal(a.status, "failed");
  assert.equal(a.error, "The image is too large.");
  assert.deepEqual(status.attachments.map((x) => x.id), [2]);
  assert.equal(status.canSend, true);
});

test("a file over the limit is refused at once, without an upload", () => {
  const tray = newTray();
  const toUpload = addFiles(tray, [file("big.mov", 30 * MiB, "video/quicktime"), file("ok.txt", 5)], { maxBytes: 25 * MiB });
  assert.deepEqual(toUpload.map((item) => item.name), ["ok.txt"]);
  const big = tray.items[0];
  assert.equal(big.status, "failed");
  assert.equal(big.error, "Too large (30 MB): the limit is 25 MB.");
});

test("at most ten files a message: the rest are not added, and the tray says so", () => {
  const tray = newTray();
  const files = Array.from({ length: 12 }, (_, i) => file(`f${i}.txt`, 1));
  assert.equal(addFiles(tray, files).length, MAX_ATTACHMENTS);
  assert.equal(tray.items.length, 10);
  assert.match(trayStatus(tray, "").hint, /up to 10 files: 2 were not added/);
  // Failed ones make room; removing one clears the notice.
  setFailed(tray, tray.items[0].key, "nope");
  assert.equal(addFiles(tray, [file("x.txt", 1), file("y.txt", 1)]).length, 1);
  assert.match(tray.notice, /1 was not added/);
  const removed = removeItem(tray, tray.items[0].key);
  assert.equal(removed.name, "f0.txt");
  assert.equal(tray.notice, null);
  assert.equal(removeItem(tray, 999), undefined);
  assert.equal(emptyTray(tray).length, 10);
  assert.deepEqual(tray.items, []);
});
