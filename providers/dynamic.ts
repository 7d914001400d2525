import * as pulumi from "@pulumi/pulumi";

/**
 * Whether an input reached a dynamic provider's check or diff still unknown: during preview a value that
 * is not known yet arrives as the engine's sentinel, whatever the input's type (pulumi/pulumi#6310).
 */
export const isUnknown = (value: unknown): boolean => value === pulumi.runtime.unknownValue;

/** A value that is set and known. */
export const isKnown = (value: unknown): boolean => value !== undefined && !isUnknown(value);
