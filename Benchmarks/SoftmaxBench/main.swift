import SoftmaxKernels
print("softmax-bench: \(ISALevel.active)")
