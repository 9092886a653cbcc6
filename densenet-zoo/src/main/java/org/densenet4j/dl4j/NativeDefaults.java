package org.densenet4j.dl4j;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Makes DL4J's fast CPU path the default, before ND4J loads its native library: the oneDNN build of
 * libnd4j (the {@code linux-x86_64-onednn-avx2} natives, when they are on the class path and the
 * CPU has AVX2), on which {@link FastPath} puts oneDNN layer helpers ({@link #oneDnnLayerHelpers()};
 * DL4J 1.0.0-M2.1's own are off and cannot switch on). Together they make DenseNet inference
 * several times faster on x86-64 with the same outputs.
 *
 * <p>Applied by the zoo's classes when first used. Properties the user set are never changed;
 * {@code -Ddensenet4j.nativeDefaults=false} turns this off. It has no effect once ND4J has loaded
 * its natives (then set {@code -Djavacpp.platform.extension=-onednn-avx2} yourself), and none on
 * the CUDA backend.
 */
public final class NativeDefaults {

    /** DL4J's switch for its layer helpers. */
    static final String HELPERS_DISABLE = "org.eclipse.deeplearning4j.helpers.disable";
    /** JavaCPP's choice among the native builds of a library. */
    static final String PLATFORM_EXTENSION = "javacpp.platform.extension";
    static final String ONEDNN_AVX2 = "-onednn-avx2";
    private static final String ONEDNN_LIBRARY =
            "org/nd4j/linalg/cpu/nativecpu/bindings/linux-x86_64-onednn-avx2/libnd4jcpu.so";

    private static volatile boolean applied;

    private NativeDefaults() {
    }

    /** Applies the defaults once; later calls do nothing. */
    public static synchronized void apply() {
        if (applied) {
            return;
        }
        applied = true;
        if ("false".equalsIgnoreCase(System.getProperty("densenet4j.nativeDefaults"))) {
            return;
        }
        if (System.getProperty(PLATFORM_EXTENSION) == null
                && System.getProperty("org.bytedeco.javacpp." + "platform.extension") == null
                && oneDnnAvx2Usable()) {
            System.setProperty(PLATFORM_EXTENSION, ONEDNN_AVX2);
        }
    }

    /**
     * Whether {@link FastPath} gives graphs oneDNN layer helpers: libnd4j is the CPU build with
     * oneDNN, and neither DL4J's switch ({@value #HELPERS_DISABLE}{@code =true}) nor
     * {@code -Ddensenet4j.nativeDefaults=false} says no.
     *
     * <p>DL4J 1.0.0-M2.1 cannot create its own: asked to ({@value #HELPERS_DISABLE}{@code =false}),
     * it looks the oneDNN switch up under a class it has since moved
     * ({@code BaseMKLDNNHelper.mklDnnEnabled()} asks for {@code org.nd4j.nativeblas.Nd4jCpu$Environment}),
     * logs an ERROR and makes none. So {@link #apply()} leaves DL4J's switch alone and FastPath
     * installs the helpers itself, asking the class where M2.1 has it.
     */
    public static boolean oneDnnLayerHelpers() {
        String dl4jSwitch = System.getProperty(HELPERS_DISABLE);
        boolean wanted = dl4jSwitch != null ? "false".equalsIgnoreCase(dl4jSwitch)
                : !"false".equalsIgnoreCase(System.getProperty("densenet4j.nativeDefaults"));
        return wanted && libnd4jUsesOneDnn();
    }

    /** Whether ND4J runs on the CPU build of libnd4j with oneDNN (asked once; false on CUDA). */
    public static boolean libnd4jUsesOneDnn() {
        return Libnd4j.USES_ONEDNN;
    }

    /** What libnd4j answers once, asked by reflection (the class is absent on the CUDA backend). */
    private static final class Libnd4j {
        static final boolean USES_ONEDNN = ask();

        private static boolean ask() {
            try {
                Class<?> env = Class.forName("org.nd4j.linalg.cpu.nativecpu.bindings.Nd4jCpu$Environment");
                Object instance = env.getMethod("getInstance").invoke(null);
                return (Boolean) env.getMethod("isUseONEDNN").invoke(instance);
            } catch (ReflectiveOperationException | LinkageError | ClassCastException e) {
                return false;
            }
        }
    }

    /** Whether the oneDNN AVX2 natives are on the class path and this CPU can run them. */
    static boolean oneDnnAvx2Usable() {
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch", "");
        if (!os.contains("linux") || !(arch.equals("amd64") || arch.equals("x86_64"))) {
            return false;
        }
        ClassLoader loader = NativeDefaults.class.getClassLoader();
        if (loader.getResource(ONEDNN_LIBRARY) == null
                || loader.getResource("org/nd4j/linalg/jcublas/JCublasBackend.class") != null) {
            return false; // not there, or the CUDA backend will run
        }
        try {
            return Files.readAllLines(Path.of("/proc/cpuinfo")).stream()
                    .anyMatch(l -> l.startsWith("flags") && (" " + l + " ").contains(" avx2 "));
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }
}
