import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Nodes that a `chorus` command starts (`cluster up`, and `drill` and `bench` with `--spawn` or
/// `--cluster`) stop when that command dies, however it dies.
///
/// The command names itself in `CHORUS_PARENT_PID`. The node checks once a second that it is
/// still that process's child, and stops itself with SIGTERM (its graceful stop) once it is not:
/// a killed parent leaves its children to init. Before this, a drill killed by its caller (a
/// test's time limit) left three nodes running for good.
///
/// Not `PR_SET_PDEATHSIG`: Linux sends that signal when the *thread* that spawned the child
/// ends, and the command spawns from threads of Swift's pool, which come and go.
public enum ParentWatch {
    public static let variable = "CHORUS_PARENT_PID"

    /// The environment for a node this process starts: `environment` with this process as parent.
    public static func environment(_ environment: [String: String]) -> [String: String] {
        var environment = environment
        environment[variable] = String(getpid())
        return environment
    }

    /// Starts watching, when this process was started with `CHORUS_PARENT_PID`.
    public static func start() {
        guard let text = ProcessInfo.processInfo.environment[variable], let parent = pid_t(text) else { return }
        let watcher = Thread {
            while getppid() == parent { sleep(1) }
            kill(getpid(), SIGTERM)
        }
        watcher.name = "parent-watch"
        watcher.start()
    }
}
