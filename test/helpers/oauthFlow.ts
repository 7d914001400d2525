/**
 * An OAuth2 authorization-code flow through a real Hydra, with the login and consent accepted on its
 * admin API as Hera would: Hydra checks PKCE when it issues the code, at the end of the flow, so the
 * refusal of a request without code_challenge only shows there. Returns where Hydra finally redirects.
 */
export async function authorizationFlow(
  /** GET on the public side without following redirects, sending these cookies (the caller's TLS trust). */
  publicGet: (url: string, cookies: string) => Promise<Response>,
  publicUrl: string,
  adminUrl: string,
  query: Record<string, string>,
): Promise<string> {
  const jar = new Map<string, string>();
  const cookies = () => [...jar].map(([name, value]) => `${name}=${value}`).join("; ");
  const follow = async (url: string) => {
    const response = await publicGet(url, cookies());
    for (const cookie of response.headers.getSetCookie()) {
      const [pair] = cookie.split(";");
      const [name, ...value] = pair!.split("=");
      jar.set(name!.trim(), value.join("="));
    }
    if (response.status !== 302 && response.status !== 303)
      throw new Error(`GET ${url} answered ${response.status}, expected a redirect`);
    return new URL(response.headers.get("location")!, url).toString();
  };
  const put = async (url: string, body: unknown) =>
    (await (
      await fetch(url, { method: "PUT", headers: { "content-type": "application/json" }, body: JSON.stringify(body) })
    ).json()) as { redirect_to: string };
  const challenge = (url: string, name: string) => {
    const value = new URL(url).searchParams.get(name);
    if (!value) throw new Error(`expected a redirect carrying ${name}; got ${url}`);
    return value;
  };
  const toLogin = await follow(`${publicUrl}/oauth2/auth?${new URLSearchParams(query)}`);
  const login = await put(
    `${adminUrl}/admin/oauth2/auth/requests/login/accept?login_challenge=${challenge(toLogin, "login_challenge")}`,
    { subject: "flow-test-subject" },
  );
  const toConsent = await follow(login.redirect_to);
  const consent = await put(
    `${adminUrl}/admin/oauth2/auth/requests/consent/accept?consent_challenge=${challenge(toConsent, "consent_challenge")}`,
    { grant_scope: ["openid"] },
  );
  return follow(consent.redirect_to);
}
