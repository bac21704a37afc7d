// System notifications and the notification sound, while no tab of this browser is visible
// (alerts.js decides what deserves one and which tab raises it; this module does the browser's
// part).
//
// Tabs tell each other whether they are visible over a BroadcastChannel of their own
// (`tidings:attention:<user id>`): on every visibilitychange, when asked (a tab starting asks),
// and "gone" when their page goes away. The tab that holds the stream (realtime.js's leader) then
// knows whether any tab is visible, and it alone raises the notification: one per event, however
// many tabs are open. Its tag is per conversation, so a burst replaces rather than stacks; a click
// focuses that tab and opens the conversation (the message, for a mention). The permission is
// asked from a click in the settings (views/settings.js), never on load.
//
// The sound is a short two-note tone made with WebAudio (no file to fetch), at most one per
// SOUND_GAP_MS. Browsers start audio only in a page the person has interacted with: the context
// is made (or resumed) on the first pointer or key press in each tab.

import { alertFor, delivery, TabBoard } from "./alerts.js";
import { reportError } from "./errors.js";
import { go } from "./router.js";
import { state } from "./store.js";

const SOUND_GAP_MS = 1500;

let realtime = null;
let channel = null;
let openMessage = async () => {};
const board = new TabBoard();
const tabId = Math.random().toString(36).slice(2) + Date.now().toString(36);
let audio = null;
let lastSound = 0;

function selfVisible() {
  return document.visibilityState === "visible";
}

/** How many tabs of this browser are visible; shown on the root element as
 * `data-visible-tabs` (what the browser tests wait for). */
function showVisibleCount() {
  document.documentElement.dataset.visibleTabs = String(board.visibleCount(selfVisible()));
}

function say(message) {
  channel?.postMessage({ ...message, tab: tabId });
}

/**
 * Start: hear the other tabs, and alert on `message` and `notification` events (registered after
 * the dispatch table's reducers, so the store has them first). `showMessage(conversationId,
 * messageId)` opens a conversation at a message (views/conversation.js).
 */
export function mountNotifier(client, { scope, showMessage }) {
  realtime = client;
  openMessage = showMessage;
  if (typeof BroadcastChannel === "function") {
    channel = new BroadcastChannel(`tidings:attention:${scope}`);
    channel.onmessage = ({ data }) => {
      if (data.kind === "ask") say({ kind: "visibility", visible: selfVisible() });
      else if (board.hear(data)) showVisibleCount();
    };
    say({ kind: "ask" });
  }
  say({ kind: "visibility", visible: selfVisible() });
  showVisibleCount();
  document.addEventListener("visibilitychange", () => {
    say({ kind: "visibility", visible: selfVisible() });
    showVisibleCount();
  });
  window.addEventListener("pagehide", () => say({ kind: "gone" }));
  for (const type of ["pointerdown", "keydown"]) window.addEventListener(type, unlockAudio, { capture: true, passive: true });
  for (const type of ["message", "notification"]) realtime.on(type, (data) => consider(type, data));
}

function consider(type, data) {
  const permission = typeof Notification === "function" ? Notification.permission : "denied";
  const how = delivery(state, { role: realtime.role, anyVisible: board.visibleCount(selfVisible()) > 0, permission });
  if (!how.notify && !how.sound) return;
  const alert = alertFor(state, type, data);
  if (!alert) return;
  if (how.notify) raise(alert);
  if (how.sound) chime();
}

function raise(alert) {
  let notification;
  try {
    notification = new Notification(alert.title, { body: alert.body, tag: alert.tag, renotify: true, silent: true });
  } catch (error) {
    reportError("Couldn't show a notification", error, () => {});
    return;
  }
  notification.addEventListener("click", () => {
    window.focus();
    notification.close();
    if (alert.conversationId && alert.messageId) {
      openMessage(alert.conversationId, alert.messageId).catch((error) => reportError("Couldn't open the message", error));
    } else {
      go(alert.conversationId ? `#/c/${alert.conversationId}` : "#/friends");
    }
  });
}

function unlockAudio() {
  const Context = window.AudioContext ?? window.webkitAudioContext;
  if (!Context) return;
  try {
    audio ??= new Context();
    if (audio.state === "suspended") audio.resume().catch(() => {});
  } catch {
    audio = null;
  }
}

/** A short two-note tone (A5 then E6, 0.3 s, quiet). */
function chime() {
  const now = Date.now();
  if (now - lastSound < SOUND_GAP_MS) return;
  lastSound = now;
  unlockAudio();
  if (!audio || audio.state !== "running") return; // never interacted with: the browser says no
  const t = audio.currentTime;
  const tone = audio.createOscillator();
  const gain = audio.createGain();
  tone.type = "sine";
  tone.frequency.setValueAtTime(880, t);
  tone.frequency.setValueAtTime(1318.5, t + 0.1);
  gain.gain.setValueAtTime(0.0001, t);
  gain.gain.exponentialRampToValueAtTime(0.12, t + 0.015);
  gain.gain.exponentialRampToValueAtTime(0.0001, t + 0.3);
  tone.connect(gain).connect(audio.destination);
  tone.start(t);
  tone.stop(t + 0.32);
}
