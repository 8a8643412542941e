/**
 * Incremental detokenization for streaming generation.
 *
 * Decoding token by token is wrong for byte-level and byte-fallback vocabularies (one character may span
 * several tokens) and for decoders that depend on context (SentencePiece's leading-space strip). This keeps
 * a small window, as text-generation-inference does: the text of the window's older part (already emitted)
 * is decoded with and without the new tokens, and only the difference is emitted, and only once it no
 * longer ends in U+FFFD (an incomplete UTF-8 sequence that the next token may complete).
 */
import type { DecodeOptions } from "./tokenizer.js";

/** What StreamDecoder needs from a tokenizer. */
export interface Decodes {
  decode(ids: readonly number[], opts?: DecodeOptions): string;
}

export interface StreamDecoderOptions {
  /** Skip special tokens (e.g. a trailing <|im_end|>). Default false. */
  skipSpecialTokens?: boolean;
}

const REPLACEMENT_CHAR = "\uFFFD";

export class StreamDecoder {
  private ids: number[] = [];
  /** Start of the context window: tokens before it are done with. */
  private prefixOffset = 0;
  /** Tokens before this offset have been emitted. */
  private readOffset = 0;
  private readonly decodeOptions: DecodeOptions;

  constructor(
    private readonly tok: Decodes,
    opts?: StreamDecoderOptions,
  ) {
    this.decodeOptions = {
      skipSpecialTokens: opts?.skipSpecialTokens === true,
      cleanUpTokenizationSpaces: false,
    };
  }

  /** Adds one token; returns the newly completed text (often "", never a partial character). */
  push(id: number): string {
    this.ids.push(id);
    return this.emit(false);
  }

  /** Emits whatever is left, even an incomplete character (as U+FFFD), and starts a new stream. */
  flush(): string {
    const text = this.emit(true);
    this.reset();
    return text;
  }

  /** Forgets all tokens without emitting. */
  reset(): void {
    this.ids = [];
    this.prefixOffset = 0;
    this.readOffset = 0;
  }

  private emit(final: boolean): string {
    if (this.readOffset >= this.ids.length) return "";
    const prefixText = this.decode(this.prefixOffset, this.readOffset);
    const fullText = this.decode(this.prefixOffset, this.ids.length);
    if (!final && (fullText.length <= prefixText.length || fullText.endsWith(REPLACEMENT_CHAR))) return "";
    // The window's text normally extends the prefix text; if a decoder rewrote it, emit what differs.
    let common = 0;
    if (fullText.startsWith(prefixText)) common = prefixText.length;
    else while (common < prefixText.length && prefixText[common] === fullText[common]) common++;
    this.prefixOffset = this.readOffset;
    this.readOffset = this.ids.length;
    // Keep memory bounded: ids before the window are never decoded again.
    if (this.prefixOffset > 1024) {
      this.ids = this.ids.slice(this.prefixOffset);
      this.readOffset -= this.prefixOffset;
      this.prefixOffset = 0;
    }
    return fullText.slice(common);
  }

  private decode(start: number, end: number): string {
    return start >= end ? "" : this.tok.decode(this.ids.slice(start, end), this.decodeOptions);
  }
}
