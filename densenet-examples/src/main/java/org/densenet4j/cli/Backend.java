package org.densenet4j.cli;

import java.util.Properties;

import org.nd4j.linalg.factory.Nd4j;

/** Which ND4J backend runs, in words. */
final class Backend {

    private Backend() {
    }

    /**
     * Runs ND4J's parallel loops, and oneDNN's (one OpenMP runtime serves both), on {@code threads}
     * threads from now on; also sizes DenseNet4J's own kernel pool when it has not started yet.
     */
    static void setThreads(int threads) {
        System.setProperty("densenet4j.kernelThreads", Integer.toString(threads));
        Nd4j.getEnvironment().setMaxThreads(threads);
        Nd4j.getEnvironment().setMaxMasterThreads(threads);
        if (!"CUDA".equalsIgnoreCase(String.valueOf(Nd4j.getExecutioner().getEnvironmentInformation().get("backend"))))
                {
            org.nd4j.nativeblas.NativeOpsHolder.getInstance().getDeviceNativeOps().setOmpNumThreads(threads);
        }
    }

    /** For example {@code CPU (nd4j-native, 2 threads)} or {@code CUDA (nd4j-cuda)}. */
    static String describe() {
        Properties env = Nd4j.getExecutioner().getEnvironmentInformation();
        String name = String.valueOf(env.getOrDefault("backend", Nd4j.getBackend().getClass().getSimpleName()));
        if ("CUDA".equalsIgnoreCase(name)) {
            return "CUDA (nd4j-cuda-11.6, " + env.getOrDefault("cuda.devicesInformation", "GPU") + ")";
        }
        boolean helpers = org.densenet4j.dl4j.NativeDefaults.oneDnnLayerHelpers();
        String natives = System.getProperty("javacpp.platform.extension",
                "").contains("onednn") ? "oneDNN natives" : "plain natives";
        return name + " (nd4j-native, " + natives + ", layer helpers " + (helpers ? "on" : "off") + ", "
                + env.getOrDefault("omp.threads", Runtime.getRuntime().availableProcessors()) + " threads)";
    }
}
