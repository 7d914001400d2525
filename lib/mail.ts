import type { PlainConfig } from "./config";
import { mailSandboxService } from "./topology";

export interface MailSettings {
  mode: PlainConfig["mail"]["mode"];
  /** Whether mail can reach real people: decides SPF/DMARC records. */
  sendsRealMail: boolean;
  /** Every environment sends as noreply@ its own domain; also the ACME contact. */
  fromAddress: string;
  /** Kratos courier URI for the Mailpit sandbox; undefined where a provider URI (a secret) is used. */
  sandboxUri?: string;
}

/** Kratos's form for a plain-SMTP relay without TLS inside the compose network. */
export const mailpitCourierUri = `smtp://${mailSandboxService}:1025/?disable_starttls=true`;

export function mailSettings(mail: PlainConfig["mail"], domain: string): MailSettings {
  return {
    mode: mail.mode,
    sendsRealMail: mail.mode === "smtp" && mail.sandbox === null,
    fromAddress: `noreply@${domain}`,
    sandboxUri: mail.mode === "mailpit" ? mailpitCourierUri : undefined,
  };
}
