import { existsSync } from "node:fs";
import execa from "execa";
import { manifestPath, projectDir } from "../../scripts/toolchain/toolchain";

/** The integration tests run real binaries: bootstrap the toolchain when it is missing. */
export default async function setup(): Promise<void> {
  if (existsSync(manifestPath)) return;
  await execa("npm", ["run", "tools", "--silent"], { cwd: projectDir, stdio: "inherit" });
}
