package org.nd4j.nativeblas;

/**
 * Compatibility shim, not API. DL4J 1.0.0-M2.1 decides whether its oneDNN layer helpers may run
 * ({@code BaseMKLDNNHelper.mklDnnEnabled()}) by reflecting on {@code org.nd4j.nativeblas.Nd4jCpu$Environment},
 * a class that M2.1 itself moved to {@code org.nd4j.linalg.cpu.nativecpu.bindings.Nd4jCpu$Environment};
 * the lookup always fails and the helpers never run. This class answers that lookup with the moved
 * class's answer, so the helpers run exactly when libnd4j was built with oneDNN.
 */
public final class Nd4jCpu {

    private Nd4jCpu() {
    }

    /** What DL4J's reflective check calls. */
    public static final class Environment {

        private static final Environment INSTANCE = new Environment();

        private Environment() {
        }

        /** The single instance, as the native class has. */
        public static Environment getInstance() {
            return INSTANCE;
        }

        /** Whether libnd4j uses oneDNN (formerly MKL-DNN); false when the CPU backend is not there. */
        public boolean isUseMKLDNN() {
            try {
                Class<?> env = Class.forName("org.nd4j.linalg.cpu.nativecpu.bindings.Nd4jCpu$Environment");
                Object instance = env.getMethod("getInstance").invoke(null);
                return (Boolean) env.getMethod("isUseONEDNN").invoke(instance);
            } catch (ReflectiveOperationException | LinkageError | ClassCastException e) {
                return false;
            }
        }
    }
}
