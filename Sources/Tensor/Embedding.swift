/// Table lookup: out[i, :] = table[ids[i], :]. Backward scatter-adds rows into the table gradient.
public enum Embedding {
    /// ids: (count) row indices into table (vocab, dim); out: (count, dim). `accumulate` adds instead of
    /// writing, so BERT's word + position + type sum needs no temporary.
    public static func forward(ids: UnsafePointer<Int32>, table: UnsafePointer<Float>, vocab: Int, dim: Int,
                               out: UnsafeMutablePointer<Float>, count: Int, accumulate: Bool = false) {
        for i in 0..<count {
            let id = Int(ids[i])
            precondition(id >= 0 && id < vocab, "embedding id \(id) at position \(i) outside vocabulary of \(vocab)")
            let row = table + id * dim, o = out + i * dim
            if accumulate { Elementwise.add(row, o, o, dim) } else { Buffer.copy(row, o, dim) }
        }
    }

    /// dtable[ids[i], :] += dout[i, :]. Repeated ids add up.
    public static func backward(ids: UnsafePointer<Int32>, dout: UnsafePointer<Float>,
                                dtable: UnsafeMutablePointer<Float>, vocab: Int, dim: Int, count: Int) {
        for i in 0..<count {
            let id = Int(ids[i])
            precondition(id >= 0 && id < vocab, "embedding id \(id) at position \(i) outside vocabulary of \(vocab)")
            Elementwise.axpy(1, dout + i * dim, dtable + id * dim, dim)
        }
    }
}
