package org.densenet4j.cli;

import java.util.Properties;

import org.nd4j.linalg.factory.Nd4j;

/** Which ND4J backend runs, in words. */
final class Backend {

    private Backend() {
    }

    /** For example {@code CPU (nd4j-native, 2 threads)} or {@code CUDA (nd4j-cuda)}. */
    static String describe() {
        Properties env = Nd4j.getExecutioner().getEnvironmentInformation();
        String name = String.valueOf(env.getOrDefault("backend", Nd4j.getBackend().getClass().getSimpleName()));
        if ("CUDA".equalsIgnoreCase(name)) {
            return "CUDA (nd4j-cuda-11.6, " + env.getOrDefault("cuda.devicesInformation", "GPU") + ")";
        }
        boolean helpers = "false".equalsIgnoreCase(System.getProperty("org.eclipse.deeplearning4j.helpers.disable", "true"))
                && org.nd4j.nativeblas.Nd4jCpu.Environment.getInstance().isUseMKLDNN();
        String natives = System.getProperty("javacpp.platform.extension", "").contains("onednn") ? "oneDNN natives" : "plain natives";
        return name + " (nd4j-native, " + natives + ", layer helpers " + (helpers ? "on" : "off") + ", "
                + env.getOrDefault("omp.threads", Runtime.getRuntime().availableProcessors()) + " threads)";
    }
}
