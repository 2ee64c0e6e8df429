// The app is a client-side editor over WebSockets and localStorage: render it in the browser only.
export const ssr = false;
