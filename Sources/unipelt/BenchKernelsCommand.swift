import Tensor

/// `unipelt bench kernels`: the non-GEMM kernels of a BERT layer (GELU, softmax, LayerNorm) at the step's
/// shapes, each as a share of the GEMM beside it, to see where a step's time outside BLAS goes.
enum BenchKernelsCommand: CLICommand {
    static let name = "bench kernels"
    static let summary = "time the elementwise kernels (GELU, softmax, LayerNorm) at BERT shapes"
    static let usage = """
    usage: unipelt bench kernels
      Times the elementwise kernels at BERT-small training shapes (batch 16, 128 tokens, hidden 384, FFN
      1536, 12 heads) on one thread after checking each against a Double reference. Build with -c release.
    """

    static func run(_ arguments: [String]) {
        if let unknown = arguments.first {
            fail("unknown option '\(unknown)'\n\n\(usage)", status: 2)
        }
        TensorBenchmarks.run()
    }
}
