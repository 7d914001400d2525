import * as pulumi from "@pulumi/pulumi";

/**
 * An output of this stack's last completed run, read from the backend through a reference to the stack
 * itself; undefined on a new stack. What a run decides from it (sleep) is then the same for every
 * `pulumi up`, preview and workflow, whatever checkout they run from.
 */
export async function lastRecorded<T>(output: string): Promise<T | undefined> {
  const self = new pulumi.StackReference(`${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}`);
  const details = await self.getOutputDetails(output);
  return (details.value ?? details.secretValue) as T | undefined;
}
