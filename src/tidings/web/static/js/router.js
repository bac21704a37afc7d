// Hash routes: "#/" (conversations), "#/c/<id>" (a conversation), "#/friends".

export function currentRoute() {
  const hash = location.hash.replace(/^#/, "") || "/";
  const match = hash.match(/^\/c\/(\d+)$/);
  if (match) return { view: "conversation", id: Number(match[1]) };
  if (hash === "/friends") return { view: "friends" };
  return { view: "home" };
}

export function go(hash) {
  if (location.hash !== hash) location.hash = hash;
}

export function onRoute(fn) {
  window.addEventListener("hashchange", () => fn(currentRoute()));
}
