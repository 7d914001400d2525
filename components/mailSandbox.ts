import * as pulumi from "@pulumi/pulumi";
import type { PlainConfig } from "../lib/config";
import { mailSettings, type MailSettings } from "../lib/mail";

export interface MailSandboxArgs {
  /** Mail config of the stack: mode mailpit | smtp, the named sandbox provider, the SPF include. */
  mail: PlainConfig["mail"];
  /** The environment's domain; mail is sent as noreply@ that domain. */
  domain: string;
  /** The provider's SMTP URI (secret); required for mode smtp, ignored for mailpit. @default undefined */
  smtpUri?: pulumi.Input<string>;
}

/**
 * Where the Kratos couriers send mail. `mailpit` runs a Mailpit service in the compose project that
 * catches every message (its UI on the host's loopback, reached over SSH); `smtp` hands mail to a
 * provider, a live one only in prod (config validation enforces it), a named sandbox elsewhere.
 */
export class MailSandbox extends pulumi.ComponentResource {
  readonly settings: MailSettings;
  /** The Kratos courier's SMTP connection URI. Secret. */
  readonly courierUri: pulumi.Output<string>;
  /** Whether mail can reach real people; only then does DNS publish SPF and DMARC. */
  readonly sendsRealMail: boolean;
  /** SPF include to publish, where real mail is sent. */
  readonly spfInclude?: string;

  constructor(name: string, args: MailSandboxArgs, opts?: pulumi.ComponentResourceOptions) {
    super("olympus:mail:MailSandbox", name, {}, opts);
    this.settings = mailSettings(args.mail, args.domain);
    this.sendsRealMail = this.settings.sendsRealMail;
    this.spfInclude = this.sendsRealMail ? (args.mail.spfInclude ?? undefined) : undefined;
    this.courierUri = pulumi.secret(this.settings.sandboxUri ?? pulumi.output(args.smtpUri ?? ""));
    this.registerOutputs({ mode: this.settings.mode, sendsRealMail: this.sendsRealMail, fromAddress: this.settings.fromAddress });
  }
}
