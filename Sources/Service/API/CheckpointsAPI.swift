import Foundation
import HTTP
import JobStore
#if canImport(Glibc)
import Glibc
#endif

/// `/v1/jobs/{job_id}/checkpoints` (list) and `…/{checkpoint_id}/content` (GET and HEAD download).
///
/// A file is served only if its row exists (the trainer records a row after the atomic rename, so a
/// listed file is whole) and its real path, symlinks resolved, lies inside the checkpoint root. Path
/// parameters are ids checked against their exact shape and only ever used as lookup keys; the path
/// served is the one in the row.
struct CheckpointsAPI {
    let context: APIContext

    func register(on router: inout Router, _ routes: APIRoutes) {
        router.get("/v1/jobs/{job_id}/checkpoints", description: RouteDescription(
            "A job's checkpoints", tag: "checkpoints"),
            routes.v1 { try list($0) })
        router.get("/v1/jobs/{job_id}/checkpoints/{checkpoint_id}/content", description: RouteDescription(
            "Download a checkpoint (safetensors)", tag: "checkpoints"),
            routes.v1 { try content($0) })
    }

    private func list(_ request: Request) throws -> Response {
        let jobID = try APIID.require(request.pathParameters["job_id"], .job)
        let (checkpoints, bestID) = try context.store.read { reader in
            (try reader.checkpoints(jobID: jobID), try reader.job(id: jobID).bestCheckpointID)
        }
        return try .api(ListEnvelope(try checkpoints.map { try CheckpointObject($0, bestID: bestID) }, hasMore: false))
    }

    private func content(_ request: Request) throws -> Response {
        let jobID = try APIID.require(request.pathParameters["job_id"], .job)
        let checkpointID = try APIID.require(request.pathParameters["checkpoint_id"], .checkpoint)
        let checkpoint = try context.store.read { try $0.checkpoint(id: checkpointID, jobID: jobID) }
        let missing = APIError(status: 404, type: "not_found_error", code: "checkpoint_not_found",
                               message: "the file of checkpoint \(checkpointID) is not available")
        guard let file = Self.servablePath(checkpoint, root: context.checkpointRoot) else { throw missing }
        let response: Response
        do {
            response = try Response.file(path: file, etag: "\"\(checkpoint.sha256)\"", checksumSHA256: checkpoint.sha256,
                                         downloadName: "\(checkpoint.id).safetensors")
        } catch {
            guard error.errno == ENOENT else { throw error }
            throw missing  // deleted since `realpath`
        }
        // A file that no longer matches its row would be served under a wrong checksum.
        guard case .file(let body) = response.body, body.length == checkpoint.bytes else { throw missing }
        return response
    }

    /// The checkpoint's file as a real path, or nil when it is gone or lies outside `root`.
    static func servablePath(_ checkpoint: Checkpoint, root: String) -> String? {
        guard let root = realPath(root), let file = realPath(checkpoint.path),
              file.hasPrefix(root.hasSuffix("/") ? root : root + "/") else { return nil }
        return file
    }

    /// The canonical absolute path (symlinks, `.` and `..` resolved), or nil if it does not exist.
    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}
