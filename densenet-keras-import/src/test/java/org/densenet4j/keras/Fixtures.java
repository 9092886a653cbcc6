package org.densenet4j.keras;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Golden fixtures: weight files and PyTorch reference outputs written by
 * {@code tools/fixtures/make_densenet_fixtures.py} (Debian's python3-torch, python3-h5py and
 * python3-numpy), generated once per build into {@code target/fixtures}.
 */
public final class Fixtures {

    static final Path REPO = findRepo();
    static final Path TOOLS = REPO.resolve("tools/fixtures");
    /** Shared by every module's tests: made once per clean build. */
    static final Path DIR = REPO.resolve("target/fixtures");

    private Fixtures() {
    }

    /** A fixture's files. */
    public record Fixture(Path dir) {
        /** The weight file. */
        public Path weights() {
            return dir.resolve("weights.h5");
        }

        /** The NCHW input. */
        public Path input() {
            return dir.resolve("x.npy");
        }

        /** PyTorch's log-probabilities for the input. */
        public Path logProbabilities() {
            return dir.resolve("logp.npy");
        }
    }

    /** The fixture of {@code arch} in {@code layout} for an input of {@code height x width}, made if missing. */
    public static Fixture get(String arch, String layout, int height, int width, int batch) throws IOException {
        return get(arch, layout, height, width, batch, 1000);
    }

    /** The same with {@code classes} classes. */
    public static synchronized Fixture get(String arch, String layout, int height, int width, int batch, int classes)
            throws IOException {
        String name = arch + "-" + layout + "-" + height + "x" + width + "-b" + batch + (classes == 1000 ? "" : "-c"
                + classes);
        Path dir = DIR.resolve(name);
        if (!Files.exists(dir.resolve("meta.json"))) {
            generate(arch, layout, height, width, batch, classes, dir);
        }
        return new Fixture(dir);
    }

    /** Writes the fixture of {@code arch} in {@code layout} into {@code dir}, made anew. */
    public static Fixture generate(String arch, String layout, int height, int width, int batch, int classes, Path dir)
            throws IOException {
        run(TOOLS.resolve("make_densenet_fixtures.py").toString(), "--arch", arch, "--layout", layout,
                "--height", Integer.toString(height), "--width", Integer.toString(width),
                "--batch", Integer.toString(batch), "--classes", Integer.toString(classes), "--out", dir.toString());
        return new Fixture(dir);
    }

    /**
     * The keras.applications weights-only fixture of {@code arch} in one naming generation
     * ({@code resaved}: the files keras checks today; {@code old}: the files before 2018-07), with
     * every weight name under the scope {@code weightPrefix} when it is not null; made if missing.
     */
    public static synchronized Fixture keras2(String arch, String naming, String weightPrefix, int height, int width,
                                              int batch) throws IOException {
        String name = arch + "-keras2-" + naming + (weightPrefix == null ? "" : "-" + weightPrefix) + "-" + height + "x"
                + width + "-b" + batch;
        Path dir = DIR.resolve(name);
        if (!Files.exists(dir.resolve("meta.json"))) {
            List<String> args = new ArrayList<>(List.of(TOOLS.resolve("make_densenet_fixtures.py").toString(),
                    "--arch", arch, "--layout", "keras2", "--naming", naming, "--height", Integer.toString(height),
                    "--width", Integer.toString(width), "--batch", Integer.toString(batch), "--out", dir.toString()));
            if (weightPrefix != null) {
                args.addAll(List.of("--weight-prefix", weightPrefix));
            }
            run(args.toArray(String[]::new));
        }
        return new Fixture(dir);
    }

    /** A torchvision fixture's files ({@code tools/fixtures/make_torch_fixtures.py}). */
    public record TorchFixture(Path dir) {
        /** The state_dict as torch.save writes it (zip). */
        public Path pth() {
            return dir.resolve("weights.pth");
        }

        /** The same in the legacy format, with the published checkpoints' key names. */
        public Path legacyPth() {
            return dir.resolve("weights-legacy.pth");
        }

        /** The same as safetensors. */
        public Path safetensors() {
            return dir.resolve("weights.safetensors");
        }

        /** The weights rounded to float16, as torch.save writes them. */
        public Path float16Pth() {
            return dir.resolve("weights-f16.pth");
        }

        /** The float16 weights widened to float32 by torch, as safetensors. */
        public Path float16Widened() {
            return dir.resolve("weights-f16-widened.safetensors");
        }

        /** The NCHW input. */
        public Path input() {
            return dir.resolve("x.npy");
        }

        /** torchvision's log-probabilities for the input. */
        public Path logProbabilities() {
            return dir.resolve("logp.npy");
        }
    }

    /**
     * The torchvision fixture of {@code arch} (densenet121/161/169/201, or densenet-tiny) for an
     * input of {@code height x width}, made if missing (needs Debian's python3-torchvision).
     */
    public static synchronized TorchFixture torch(String arch, int height, int width, int batch, int classes)
            throws IOException {
        Path dir = DIR.resolve("torch").resolve(arch + "-" + height + "x" + width + "-b" + batch + "-c" + classes);
        if (!Files.exists(dir.resolve("meta.json"))) {
            generateTorch(arch, height, width, batch, classes, dir);
        }
        return new TorchFixture(dir);
    }

    /** Writes the torchvision fixture into {@code dir}, made anew. */
    public static TorchFixture generateTorch(String arch, int height, int width, int batch, int classes, Path dir)
            throws IOException {
        List<String> args = new ArrayList<>(List.of(TOOLS.resolve("make_torch_fixtures.py").toString(), "--arch", arch,
                "--height", Integer.toString(height), "--width", Integer.toString(width),
                "--batch", Integer.toString(batch), "--classes", Integer.toString(classes), "--out", dir.toString()));
        if (arch.equals("densenet-tiny")) {
            args.add("--exact"); // the fuzz tests' base files: the same bytes on every machine
        }
        run(args.toArray(String[]::new));
        return new TorchFixture(dir);
    }

    /** The done-when fixture of issue 29 ({@code tools/fixtures/make_photo_golden.py}). */
    public record PhotoFixture(Path dir) {
        /** A torchvision DenseNet-121 state_dict with random, calibrated weights. */
        public Path weights() {
            return dir.resolve("weights.pth");
        }

        /** A 500x375 photo-like PNG. */
        public Path photo() {
            return dir.resolve("photo.png");
        }

        /** The photo through DenseNet121_Weights.IMAGENET1K_V1.transforms(), as torchvision computes it. */
        public Path input() {
            return dir.resolve("x.npy");
        }

        /** torchvision's log-probabilities for the photo through DenseNet121_Weights.IMAGENET1K_V1.transforms(). */
        public Path logProbabilities() {
            return dir.resolve("logp.npy");
        }
    }

    /** The photo fixture, made if missing (needs Debian's python3-torchvision and python3-pil). */
    public static synchronized PhotoFixture photo() throws IOException {
        Path dir = DIR.resolve("photo-densenet121");
        if (!Files.exists(dir.resolve("meta.json"))) {
            run(TOOLS.resolve("make_photo_golden.py").toString(), "--out", dir.toString());
        }
        return new PhotoFixture(dir);
    }

    /** The test images of {@code tools/fixtures/make_images.py} (needs Debian's python3-pil). */
    public static synchronized Path images() throws IOException {
        Path out = DIR.resolve("images");
        if (!Files.isDirectory(out)) {
            Path tmp = out.resolveSibling("images.tmp");
            run(TOOLS.resolve("make_images.py").toString(), tmp.toString());
            Files.move(tmp, out);
        }
        return out;
    }

    /** {@code count} structurally damaged copies of {@code weights}, made by {@code tools/fixtures/fuzz_h5.py}. */
    public static java.util.List<Path> structuralMutations(Path weights, String name, int count, long seed)
            throws IOException {
        Path out = DIR.resolve("fuzz").resolve(name + "-" + count + "-" + seed);
        if (!Files.isDirectory(out)) {
            Path tmp = out.resolveSibling(out.getFileName() + ".tmp");
            run(TOOLS.resolve("fuzz_h5.py").toString(), weights.toString(), tmp.toString(),
                    Integer.toString(count), Long.toString(seed));
            Files.move(tmp, out);
        }
        try (var files = Files.list(out)) {
            return files.sorted().toList();
        }
    }

    /** A copy of {@code weights} with one defect made by {@code tools/fixtures/mutate_h5.py}. */
    public static Path mutated(Path weights, String name, String... operation) throws IOException {
        Path out = DIR.resolve("mutated").resolve(name + ".h5");
        Files.createDirectories(out.getParent());
        List<String> args = new ArrayList<>(List.of(TOOLS.resolve("mutate_h5.py").toString(),
                weights.toString(), out.toString()));
        args.addAll(List.of(operation));
        run(args.toArray(String[]::new));
        return out;
    }

    private static void run(String... args) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(python());
        cmd.addAll(List.of(args));
        Path log = Files.createTempFile("fixture", ".log");
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
            if (!p.waitFor(10, TimeUnit.MINUTES)) {
                p.destroyForcibly();
                throw new IOException("fixture script timed out: " + cmd);
            }
            if (p.exitValue() != 0) {
                throw new IOException("fixture script failed (" + cmd + "):\n"
                        + Files.readString(log, StandardCharsets.UTF_8)
                        + "\nThe golden tests need Debian's python3-torch, python3-torchvision, python3-h5py and "
                        +
                        "python3-numpy (apt-get install python3-torch python3-torchvision python3-h5py python3-numpy), "
                        + "or DENSENET_PYTHON naming a Python that has torch, torchvision, h5py and numpy.");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while making fixtures", e);
        } finally {
            Files.deleteIfExists(log);
        }
    }

    /** $DENSENET_PYTHON, else Debian's /usr/bin/python3 (where python3-torch installs), else python3. */
    private static String python() {
        String env = System.getenv("DENSENET_PYTHON");
        if (env != null && !env.isBlank()) {
            return env;
        }
        return Files.isExecutable(Path.of("/usr/bin/python3")) ? "/usr/bin/python3" : "python3";
    }

    private static Path findRepo() {
        Path p = Path.of("").toAbsolutePath();
        while (p != null && !Files.isDirectory(p.resolve("tools/fixtures"))) {
            p = p.getParent();
        }
        if (p == null) {
            throw new IllegalStateException("cannot find tools/fixtures above " + Path.of("").toAbsolutePath());
        }
        return p;
    }
}
