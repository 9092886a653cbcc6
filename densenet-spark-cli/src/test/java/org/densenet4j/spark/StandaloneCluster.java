package org.densenet4j.spark;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * A Spark standalone cluster of separate JVMs on the loopback interface: a Master and Workers
 * started as Spark's {@code sbin} scripts start them, and applications submitted as
 * {@code bin/spark-submit} submits them. The commands are the ones Spark's own launcher
 * ({@code org.apache.spark.launcher.Main}, what {@code bin/spark-class} runs) builds from a
 * {@code SPARK_HOME} whose {@code jars/} holds a Spark distribution's jars: no Spark download, no
 * shell scripts, the rest as on a real cluster (a Worker starts each executor with
 * {@code SPARK_HOME/jars/*} as its class path; the application's jar reaches the executors from the
 * driver).
 *
 * <p>Every process binds to 127.0.0.1 on ephemeral ports (the Master's port is read from its log).
 * {@link #close()} ends every process this cluster started, their children (the executors)
 * included; a JVM shutdown hook does the same if the test JVM is stopped first.
 */
final class StandaloneCluster implements AutoCloseable {

    private static final Pattern MASTER_URL =
            Pattern.compile("Starting Spark master at (spark://127\\.0\\.0\\.1:\\d+)");
    private static final Duration STOP_GRACE = Duration.ofSeconds(10);

    private final Path home;
    private final Path dir;
    private final List<Process> processes = new ArrayList<>();
    private final List<Process> workers = new ArrayList<>();
    private final Thread shutdownHook = new Thread(this::stopAll, "stop the Spark cluster");
    private Process master;
    private String masterUrl;

    private StandaloneCluster(Path home, Path dir) {
        this.home = home;
        this.dir = dir;
    }

    /**
     * Starts a Master and {@code workers} Workers of {@code cores} cores and {@code memory} (e.g.
     * {@code 3g}) each, and waits until every Worker has registered.
     *
     * @param sparkJars the jars of a Spark distribution
     * @param dir       where the cluster keeps its SPARK_HOME, logs and work folders
     * @param timeout   how long the start may take
     */
    static StandaloneCluster start(List<Path> sparkJars, Path dir, int workers, int cores, String memory,
            Duration timeout) throws IOException, InterruptedException {
        Files.createDirectories(dir.resolve("local"));
        StandaloneCluster cluster = new StandaloneCluster(sparkHome(sparkJars, dir.resolve("spark-home")), dir);
        Runtime.getRuntime().addShutdownHook(cluster.shutdownHook);
        try {
            long deadline = System.nanoTime() + timeout.toNanos();
            cluster.master = cluster.launch("master", "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
                    "--port", "0", "--webui-port", "0");
            cluster.masterUrl = cluster.awaitLog(cluster.master, "master", MASTER_URL, deadline);
            for (int i = 0; i < workers; i++) {
                cluster.startWorker(cores, memory);
            }
            cluster.awaitWorkers(workers, deadline);
            return cluster;
        } catch (IOException | InterruptedException | RuntimeException | AssertionError e) {
            cluster.close();
            throw e;
        }
    }

    /** The Master's URL, {@code spark://127.0.0.1:PORT}. */
    String masterUrl() {
        return masterUrl;
    }

    /** Starts one more Worker (registered with the Master once {@link #awaitWorkers} returns). */
    void startWorker(int cores, String memory) throws IOException, InterruptedException {
        int n = workers.size() + 1;
        Path work = Files.createDirectories(dir.resolve("worker-" + n));
        workers.add(launch("worker-" + n, "org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1", "--port", "0",
                "--webui-port", "0", "--cores", Integer.toString(cores), "--memory", memory, "--work-dir",
                work.toString(), masterUrl));
    }

    /** Waits until the Master has registered {@code count} Workers in all. */
    void awaitWorkers(int count, long deadlineNanos) throws InterruptedException {
        await(() -> count(log("master"), "Registering worker 127.0.0.1:") >= count, deadlineNanos,
                "the Master to register " + count + " workers");
    }

    /** The work folder of Worker {@code n} (1, 2, ...): its executors' logs are in {@code app-ID/EXECUTOR/stderr}. */
    Path workDir(int n) {
        return dir.resolve("worker-" + n);
    }

    /**
     * Kills Worker {@code n} and its executors at once (SIGKILL), as when their machine is lost, and
     * waits until they are gone.
     */
    void killWorker(int n) throws InterruptedException {
        Process worker = workers.get(n - 1);
        List<ProcessHandle> tree = new ArrayList<>(worker.descendants().toList());
        tree.add(worker.toHandle());
        tree.forEach(ProcessHandle::destroyForcibly);
        for (ProcessHandle p : tree) {
            try {
                p.onExit().get(STOP_GRACE.toMillis(), TimeUnit.MILLISECONDS);
            } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
                throw new AssertionError("process " + p.pid() + " of worker " + n + " did not end", e);
            }
        }
    }

    /**
     * Starts {@code spark-submit ARGS} (the driver runs in that process, client mode) with its
     * output in {@code NAME.out} and {@code NAME.err}.
     */
    Submission submit(String name, List<String> sparkSubmitArgs) throws IOException, InterruptedException {
        return new Submission(name, launch(name, "org.apache.spark.deploy.SparkSubmit",
                sparkSubmitArgs.toArray(String[]::new)));
    }

    /** A running {@code spark-submit}. */
    final class Submission {
        private final String name;
        private final Process process;

        private Submission(String name, Process process) {
            this.name = name;
            this.process = process;
        }

        /** What the driver has logged so far (Spark's log and the command's error output). */
        String err() {
            return log(name);
        }

        /** What the command has printed so far. */
        String out() {
            return read(dir.resolve(name + ".out"));
        }

        /** Whether spark-submit is still running. */
        boolean running() {
            return process.isAlive();
        }

        /** Waits for the end of the submission; its exit code, output and error output. */
        CliFixtures.Run await(Duration timeout) throws IOException, InterruptedException {
            if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                stop(process);
                throw new AssertionError("spark-submit " + name + " did not end within " + timeout + "; its log ends:\n"
                        + tail(err()));
            }
            return new CliFixtures.Run(process.exitValue(), out(), err());
        }
    }

    /** The log (standard error) of the process started as {@code name}, so far. */
    String log(String name) {
        return read(dir.resolve(name + ".err"));
    }

    /**
     * Copies the logs (the Master's, the Workers', the drivers' and every executor's) to {@code target},
     * replacing what an earlier run left there.
     */
    void keepLogs(Path target) throws IOException {
        if (Files.exists(target)) {
            try (Stream<Path> old = Files.walk(target)) {
                for (Path p : old.sorted(java.util.Comparator.reverseOrder()).toList()) {
                    Files.delete(p);
                }
            }
        }
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".err") || p.toString().endsWith(".out")
                    || p.getFileName().toString().equals("stderr")).toList()) {
                Path copy = target.resolve(dir.relativize(f).toString());
                Files.createDirectories(copy.getParent());
                Files.copy(f, copy);
            }
        }
    }

    private static String read(Path file) {
        try {
            return Files.exists(file) ? Files.readString(file, StandardCharsets.UTF_8) : "";
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void close() {
        stopAll();
        try {
            Runtime.getRuntime().removeShutdownHook(shutdownHook);
        } catch (IllegalStateException e) {
            // the JVM is shutting down: the hook runs (or ran) stopAll itself
        }
    }

    private synchronized void stopAll() {
        for (int i = processes.size() - 1; i >= 0; i--) {
            stop(processes.get(i));
        }
    }

    /** Ends a process and its children: asked first (Spark's daemons stop their executors), then killed. */
    private static void stop(Process p) {
        List<ProcessHandle> tree = new ArrayList<>(p.descendants().toList());
        p.destroy();
        try {
            if (!p.waitFor(STOP_GRACE.toMillis(), TimeUnit.MILLISECONDS)) {
                p.destroyForcibly().waitFor(STOP_GRACE.toMillis(), TimeUnit.MILLISECONDS);
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
        }
        for (ProcessHandle child : tree) {
            if (child.isAlive()) {
                child.destroyForcibly();
            }
        }
    }

    /**
     * Starts {@code className ARGS} with the command line Spark's launcher builds for it (as
     * {@code bin/spark-class} does), its standard output and error in {@code NAME.out} and {@code NAME.err}.
     */
    private synchronized Process launch(String name, String className, String... args)
            throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(java(), "-cp", home.resolve("jars") + "/*",
                "org.apache.spark.launcher.Main", className));
        command.addAll(Arrays.asList(args));
        ProcessBuilder launcher = environment(new ProcessBuilder(command)).redirectErrorStream(true);
        Process p = launcher.start();
        byte[] printed = p.getInputStream().readAllBytes();
        if (!p.waitFor(1, TimeUnit.MINUTES) || p.exitValue() != 0) {
            throw new AssertionError("Spark's launcher failed for " + className + ": "
                    + new String(printed, StandardCharsets.UTF_8));
        }
        // the launcher prints a NUL and a new line, then the command's words each ended by a NUL
        String out = new String(printed, StandardCharsets.UTF_8);
        int start = out.indexOf("\0\n");
        if (start < 0) {
            throw new AssertionError("Spark's launcher printed no command for " + className + ": " + out);
        }
        List<String> sparkCommand = Arrays.asList(out.substring(start + 2).split("\0"));
        Process process = environment(new ProcessBuilder(sparkCommand)).directory(dir.toFile())
                .redirectOutput(dir.resolve(name + ".out").toFile()).redirectError(dir.resolve(name + ".err").toFile())
                .start();
        processes.add(process);
        return process;
    }

    /** What Spark's scripts would set up (conf/spark-env.sh's kind), and nothing of the caller's Spark or Hadoop. */
    private ProcessBuilder environment(ProcessBuilder b) {
        Map<String, String> env = b.environment();
        env.keySet().removeIf(k -> k.startsWith("SPARK_") || k.startsWith("PYSPARK_") || k.startsWith("HADOOP_")
                || k.startsWith("YARN_"));
        env.put("JAVA_HOME", System.getProperty("java.home"));
        env.put("SPARK_HOME", home.toString());
        env.put("SPARK_SCALA_VERSION", "2.12"); // what bin/load-spark-env.sh sets for a distribution
        env.put("SPARK_LOCAL_IP", "127.0.0.1"); // every service and UI on the loopback interface only
        env.put("SPARK_LOCAL_DIRS", dir.resolve("local").toString());
        env.put("SPARK_DAEMON_MEMORY", "512m");
        return b;
    }

    /** SPARK_HOME: {@code jars/} linking to the distribution's jars, {@code conf/} with Spark's logging at INFO. */
    private static Path sparkHome(List<Path> jars, Path home) throws IOException {
        Path lib = Files.createDirectories(home.resolve("jars"));
        for (Path jar : jars) {
            Path link = lib.resolve(jar.getFileName());
            if (Files.notExists(link, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                Files.createSymbolicLink(link, jar.toAbsolutePath());
            }
        }
        Path conf = Files.createDirectories(home.resolve("conf"));
        // the test reads the Master's port and the driver's task events from these logs
        Files.writeString(conf.resolve("log4j2.properties"), String.join("\n",
                "rootLogger.level = info",
                "rootLogger.appenderRef.stderr.ref = console",
                "appender.console.type = Console",
                "appender.console.name = console",
                "appender.console.target = SYSTEM_ERR",
                "appender.console.layout.type = PatternLayout",
                "appender.console.layout.pattern = %d{HH:mm:ss.SSS} %p %c{1}: %m%n%ex",
                ""));
        return home;
    }

    private String awaitLog(Process p, String name, Pattern pattern, long deadlineNanos) throws InterruptedException {
        String[] found = new String[1];
        await(() -> {
            Matcher m = pattern.matcher(log(name));
            if (m.find()) {
                found[0] = m.group(1);
                return true;
            }
            if (!p.isAlive()) {
                throw new AssertionError(name + " ended (exit " + p.exitValue() + "); its log ends:\n"
                        + tail(log(name)));
            }
            return false;
        }, deadlineNanos, name + " to log " + pattern);
        return found[0];
    }

    /** Polls {@code condition} until it holds or the deadline passes (then fails, naming what it waited for). */
    static void await(BooleanSupplier condition, long deadlineNanos, String what) throws InterruptedException {
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadlineNanos) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.sleep(50);
        }
    }

    static int count(String text, String what) {
        int n = 0;
        for (int i = text.indexOf(what); i >= 0; i = text.indexOf(what, i + what.length())) {
            n++;
        }
        return n;
    }

    static String tail(String log) {
        String[] lines = log.split("\n");
        return String.join("\n", Arrays.copyOfRange(lines, Math.max(0, lines.length - 40), lines.length));
    }

    private static String java() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }
}
