import type { PlainConfig } from "./config/schema";
import { port } from "./services";

export interface MailSettings {
  mode: PlainConfig["mail"]["mode"];
  /** Whether mail can reach real people: decides SPF/DMARC records. */
  sendsRealMail: boolean;
  /** Every environment sends as noreply@ its own domain; also the ACME contact. */
  fromAddress: string;
  /** Kratos courier URI for the Mailpit sandbox; undefined where a provider URI (a secret) is used. */
  sandboxUri?: string;
  /** SPF include DNS publishes; only where real mail is sent. */
  spfInclude?: string;
  /** The provider's DKIM and return-path records DNS publishes; only where real mail is sent. */
  records: PlainConfig["mail"]["records"];
}

/** Kratos's form for a plain-SMTP relay without TLS inside the compose network. */
export const mailpitCourierUri = `smtp://mailpit:${port("mailpit", "smtp")}/?disable_starttls=true`;

/**
 * Where the Kratos couriers send mail. `mailpit` runs a Mailpit service in the compose project that
 * catches every message (its UI on the host's loopback, reached over SSH); `smtp` hands mail to a
 * provider, a live one only in prod (config validation enforces it), a named sandbox elsewhere.
 */
export function mailSettings(mail: PlainConfig["mail"], domain: string): MailSettings {
  const sendsRealMail = mail.mode === "smtp" && mail.sandbox === null;
  return {
    mode: mail.mode,
    sendsRealMail,
    fromAddress: `noreply@${domain}`,
    sandboxUri: mail.mode === "mailpit" ? mailpitCourierUri : undefined,
    spfInclude: sendsRealMail ? (mail.spfInclude ?? undefined) : undefined,
    records: sendsRealMail ? mail.records : [],
  };
}

/** The courier's SMTP URI: the sandbox's, else the provider URI from the stack's secrets. */
export function courierUri(settings: MailSettings, smtpUri: string | undefined): string {
  return settings.sandboxUri ?? smtpUri ?? "";
}
