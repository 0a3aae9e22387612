import Foundation
import HTTP
import JobStore

/// `DELETE /v1/sweeps/{sweep_id}` (rows in one transaction, then the checkpoint folders) and
/// `GET /v1/usage` (disk used by the database and by each sweep's checkpoints).
struct CleanupAPI {
    let context: APIContext

    func register(on router: inout Router, _ routes: APIRoutes) {
        router.delete("/v1/sweeps/{sweep_id}", description: RouteDescription(
            "Delete a sweep with no running job: its jobs, curves and checkpoint files", tag: "sweeps"),
            routes.v1 { try delete($0) })
        router.get("/v1/usage", description: RouteDescription(
            "Disk used by the database and by each sweep", tag: "ops"),
            routes.v1 { _ in try usage() })
    }

    private var folders: CheckpointFolders { CheckpointFolders(root: context.checkpointRoot) }

    private func delete(_ request: Request) throws -> Response {
        let id = try APIID.require(request.pathParameters["sweep_id"], .sweep)
        let jobIDs = try context.store.write { try $0.deleteSweep(id: id) }
        // After the commit: a failure here leaves only folders without rows, removed at the next start.
        let freed = jobIDs.reduce(0) { $0 + DiskUsage.bytes(under: "\(context.checkpointRoot)/\($1)") }
        try folders.remove(jobIDs: jobIDs)
        return try .api(SweepDeletedObject(id: id, deleted: true, jobs_deleted: jobIDs.count, bytes_freed: freed))
    }

    private func usage() throws -> Response {
        let usage = try folders.usage(store: context.store)
        // A sweep deleted since its folders were measured is left out.
        let sweeps = try context.store.read { reader in
            usage.bySweep.keys.compactMap { $0 }.sorted().compactMap { id in
                (try? reader.sweep(id: id)).map {
                    UsageObject.SweepUsage(sweep_id: id, name: $0.name, jobs_with_files: usage.jobCounts[id] ?? 0,
                                           bytes: usage.bySweep[id] ?? 0)
                }
            }
        }
        let database = ["", "-wal", "-shm"].reduce(0) { total, suffix in
            let attributes = try? FileManager.default.attributesOfItem(atPath: context.store.path + suffix)
            return total + ((attributes?[.size] as? NSNumber)?.intValue ?? 0)
        }
        return try .api(UsageObject(database_bytes: database,
                                    checkpoint_bytes: usage.bySweep.values.reduce(0, +),
                                    standalone_job_bytes: usage.bySweep[nil] ?? 0,
                                    sweeps: sweeps.sorted { $0.bytes > $1.bytes }))
    }
}

struct SweepDeletedObject: Encodable {
    let object = "sweep.deleted"
    let id: String
    let deleted: Bool
    let jobs_deleted: Int
    /// Bytes of checkpoint files removed.
    let bytes_freed: Int
}

/// Disk used by the service's state; sweeps with checkpoint files, largest first.
struct UsageObject: Encodable {
    struct SweepUsage: Encodable {
        let sweep_id: String
        let name: String
        let jobs_with_files: Int
        let bytes: Int
    }

    let object = "usage"
    /// The SQLite file with its write-ahead log.
    let database_bytes: Int
    let checkpoint_bytes: Int
    /// Checkpoints of jobs created alone (`POST /v1/jobs`).
    let standalone_job_bytes: Int
    let sweeps: [SweepUsage]
}
