/**
 * `--verify`: the verification string (both sides derive it from the session key, PROTOCOL.md §3.4) is shown and
 * the user confirms it matches the other screen before any file data flows. A different string means the two sides
 * do not share a key (someone in the middle who guessed the code): "no" fails with REJECTED, and the peer is told
 * why in the sealed error (§4.10). Needs a terminal: checked before anything reaches the network.
 */
import { createError } from '@portunus/protocol/errors';
import { canPrompt, confirm, type PromptIo } from './prompt.js';

export const VERIFY_MISMATCH = 'the verification strings do not match';

export function checkCanVerify(prompt: PromptIo): void {
  if (!canPrompt(prompt)) {
    throw createError('USAGE', '--verify needs a terminal to ask on (standard input is not one)', {
      hint: 'Compare the `verifier` of the --json `confirmed` events instead, or run in a terminal.',
    });
  }
}

/** Asks; resolves when the user confirms, throws REJECTED (the peer told why) when not. */
export async function verifyWithUser(prompt: PromptIo, verifier: string, signal: AbortSignal): Promise<void> {
  const same = await confirm(
    { ...prompt, signal },
    `Verification: ${verifier}. Does the other side show the same?`,
    'Run without --verify to skip this question.',
  );
  if (!same) {
    throw createError('REJECTED', VERIFY_MISMATCH, {
      hint: 'Nothing was sent or kept. Start again with a new code; if it happens again, someone may be in between.',
    });
  }
}
