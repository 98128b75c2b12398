// Header-only target: the stores are `static inline` in include/CSoftmaxKernelsStore.h.
