// The MNIST classifier several training tests run: model Mlp, 784 pixels → `hidden` → 10 classes.
// Each test adds its own train block (and any frozen copies).

export function mnistMlpModel(hidden: number): string {
  return `model Mlp(size = 28, hidden = ${hidden}, classes = 10) {
  input image: f32[batch, 1, size, size]
  h = relu(Linear(reshape(image, [-1, size * size]), hidden) as fc1)
  output logits = Linear(h, classes) as fc2
}`;
}
