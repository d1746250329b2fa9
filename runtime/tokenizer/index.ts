// Public surface of runtime/tokenizer: byte-level BPE, HF tokenizer.json I/O, GPT-2, compression.

export { BpeTokenizer, type AddedToken, type BpeModel } from './bpe.ts';
export { parseTokenizerJson, readTokenizerJson, toTokenizerJson, writeTokenizerJson, TokenizerFormatError } from './tokenizer-json.ts';
export { GPT2_EOT, GPT2_EOT_ID } from './gpt2.ts';
export { gpt2Tokenizer } from './gpt2-file.ts';
export { compressVocab, type CompressOptions, type CompressedVocab } from './compress.ts';
