package org.densenet4j.spark;

import org.apache.spark.TaskContext;
import org.densenet4j.onednn.HostArrays;
import org.nd4j.nativeblas.NativeOpsHolder;

/**
 * Runs the calling task's native kernels on the cores Spark gave it ({@code spark.task.cpus},
 * default 1): concurrent tasks each running OpenMP over every core of the machine slow each other
 * down several times over. OpenMP's thread count belongs to the calling thread, so this sets it for
 * this task alone; outside a Spark task it does nothing.
 */
public final class TaskCores {

    private TaskCores() {
    }

    /** Sets this thread's native thread count to its task's cores. */
    public static void use() {
        TaskContext task = TaskContext.get();
        if (task != null && HostArrays.CPU) {
            NativeOpsHolder.getInstance().getDeviceNativeOps().setOmpNumThreads(Math.max(1, task.cpus()));
        }
    }
}
