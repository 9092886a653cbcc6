package org.densenet4j.zoo.io;

import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;

import org.densenet4j.zoo.DenseNetZooModel;
import org.densenet4j.zoo.TinyNets;
import org.deeplearning4j.nn.graph.ComputationGraph;

/**
 * A process for kill tests: installs a {@link ModelFiles.PublishObserver} that stops this process at
 * a chosen point of a write (after N bytes of the zip, or at a {@link ModelFiles.Step}), says so
 * by creating a marker file, and waits there to be killed. Then it runs {@link #task}.
 *
 * <p>Arguments: {@code bytes:N} or a step name, the marker file, then the task's arguments. With
 * no task ({@link #main} of this class) it writes the tiny DenseNet of seed {@code args[3]} to {@code args[2]}.
 */
public final class StoppedWriter {

    private StoppedWriter() {
    }

    /**
     * Stops at {@code args[0]}, marking {@code args[1]}; writes the tiny net of seed {@code args[3]} to {@code
     * args[2]}.
     */
    public static void main(String[] args) throws Exception {
        install(args[0], Path.of(args[1]));
        ModelFiles.write(tiny(Long.parseLong(args[3])), Path.of(args[2]), true);
        System.out.println("written, not stopped");
    }

    /** The tiny DenseNet whose weights come from {@code seed}. */
    public static ComputationGraph tiny(long seed) {
        return new DenseNetZooModel("tiny", TinyNets.tinyBc().seed(seed).build()).init();
    }

    /** Makes this process stop at {@code where} ({@code bytes:N} or a step), creating {@code marker} then. */
    public static void install(String where, Path marker) {
        long bytes = where.startsWith("bytes:") ? Long.parseLong(where.substring(6)) : -1;
        ModelFiles.Step step = bytes < 0 ? ModelFiles.Step.valueOf(where) : null;
        ModelFiles.observer = new ModelFiles.PublishObserver() {
            @Override
            public OutputStream wrap(OutputStream out) {
                if (bytes < 0) {
                    return out;
                }
                return new FilterOutputStream(out) {
                    private long written;

                    @Override
                    public void write(byte[] b, int off, int len) throws IOException {
                        out.write(b, off, len);
                        written += len;
                        if (written >= bytes) {
                            out.flush();
                            stop(marker);
                        }
                    }

                    @Override
                    public void write(int b) throws IOException {
                        write(new byte[] {(byte) b}, 0, 1);
                    }
                };
            }

            @Override
            public void reached(ModelFiles.Step s) {
                if (s == step) {
                    stop(marker);
                }
            }
        };
    }

    private static void stop(Path marker) {
        try {
            Path tmp = marker.resolveSibling(marker.getFileName() + ".tmp");
            Files.writeString(tmp, Long.toString(ProcessHandle.current().pid()));
            Files.move(tmp, marker, StandardCopyOption.ATOMIC_MOVE);
            Thread.sleep(Long.MAX_VALUE); // until killed
        } catch (IOException | InterruptedException e) {
            throw new IllegalStateException("stopped writer: " + e, e);
        }
    }

    /**
     * Starts a JVM on this test class path running {@code mainClass} with {@code args}, its output
     * going to {@code log}.
     */
    public static Process start(Class<?> mainClass, Path log, String... args) throws IOException {
        String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = new ArrayList<>(List.of(javaBin, "-Xmx1g", "-cp",
                System.getProperty("java.class.path"), mainClass.getName()));
        cmd.addAll(List.of(args));
        return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    }

    /**
     * Waits until {@code p} has created {@code marker} (it is stopped there), then kills it with SIGKILL.
     *
     * @throws AssertionError with the process's log when it ends or takes over two minutes instead
     */
    public static void killWhenStopped(Process p, Path marker, Path log) throws Exception {
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.MINUTES.toNanos(2);
        while (!Files.exists(marker) && p.isAlive() && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        boolean stopped = Files.exists(marker);
        p.destroyForcibly(); // SIGKILL
        p.waitFor();
        if (!stopped) {
            throw new AssertionError("the writer never reached its stop (exit " + p.exitValue() + "):\n"
                    + Files.readString(log));
        }
    }
}
