// Public surface of runtime/data: embedded datasets, user files, the seeded PRNG and batchers.

export { Prng, fnv1a, type PrngState } from './prng.ts';
export { loadBrown, brownSplitOf, untag, detokenize, BROWN_GENRES, type BrownDoc, type BrownGenre, type BrownSplit } from './brown.ts';
export { loadMnist, mnistSplitOf, MNIST_SIDE, type ImageSet, type MnistSplit } from './mnist.ts';
export { LmBatcher, ExampleBatcher, type BatcherOptions, type BatcherState } from './batchers.ts';
export { readTextSource, readJsonl, readImageFolder, DataError, type LabelledTexts } from './user-files.ts';
