// The token this tab holds (what web/shared/api.ts keeps in sessionStorage), for helpers that build their own requests.
const TOKEN_KEY = "labdaemon.token";

export function getToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}
