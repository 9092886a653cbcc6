package org.densenet4j.cli;

import static org.densenet4j.cli.Cli.assertBadInput;
import static org.densenet4j.cli.Cli.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import com.sun.net.httpserver.HttpServer;

import org.deeplearning4j.common.resources.DL4JResources;
import org.deeplearning4j.zoo.PretrainedType;
import org.densenet4j.io.Npy;
import org.densenet4j.keras.Fixtures;
import org.densenet4j.keras.PretrainedWeights;
import org.densenet4j.keras.WeightLayout;
import org.densenet4j.zoo.DenseNet121;
import org.densenet4j.zoo.DenseNetPreset;
import org.densenet4j.zoo.io.Download;
import org.densenet4j.zoo.io.ModelCard;
import org.densenet4j.zoo.io.ModelFiles;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * {@code densenet fetch} and {@code initPretrained()}'s downloads against a loopback server: a
 * torchvision state_dict written by torch, served as a mirror would, fetched, checked, converted
 * and used; a wrong hash, a mirror with other bytes and the offline switch each end in one line
 * naming the URL, and leave the cache as it was.
 */
class FetchCommandTest {

    private static HttpServer server;
    private static String base;
    private static Fixtures.TorchFixture torch121;
    private static String sha256;

    @TempDir
    Path dir;

    @BeforeAll
    static void serve() throws Exception {
        torch121 = Fixtures.torch("densenet121", 224, 224, 2, 1000);
        sha256 = ModelFiles.sha256(torch121.pth());
        byte[] pth = Files.readAllBytes(torch121.pth());
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.setExecutor(Executors.newFixedThreadPool(4));
        // The mirror serves the fixture under every name: its hash is not the published file's.
        server.createContext("/", ex -> {
            ex.sendResponseHeaders(200, pth.length);
            try (OutputStream out = ex.getResponseBody()) {
                out.write(pth);
            }
        });
        server.start();
        base = "http://127.0.0.1:" + server.getAddress().getPort();
    }

    @AfterAll
    static void stop() {
        server.stop(0);
    }

    @BeforeEach
    void emptyZooCache() throws Exception {
        DL4JResources.setBaseDirectory(Files.createDirectories(dir.resolve("cache")).toFile());
    }

    @AfterEach
    void resetZooCache() {
        DL4JResources.resetBaseDirectoryLocation();
        System.clearProperty("densenet4j.weights.baseUrl");
        System.setProperty("densenet4j.offline", "true");
    }

    @Test
    void fetchFromAMirrorChecksConvertsAndPredictsAsTorchvision() throws Exception {
        Path zip = dir.resolve("m.zip");
        Cli.Run r = run("fetch", "--model", "densenet121", "--source", "torchvision", "--from", base + "/model.pth",
                "--sha256", sha256, "--out", zip.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("Installed densenet121"), r.out());
        ModelCard card = ModelCard.read(zip).orElseThrow();
        assertEquals("torch", card.preprocessing());
        // torchvision/models/densenet.py (0.14.1): DenseNet121_Weights.IMAGENET1K_V1's
        // transforms=partial(ImageClassification, crop_size=224)
        assertEquals(org.densenet4j.zoo.io.ImageTransform.imageClassification(224, 256), card.transform());
        assertEquals(base + "/model.pth", card.source().get("url"));
        assertEquals("model.pth", card.source().get("file"));
        assertEquals(sha256, card.source().get("sha256"));
        try (var left = Files.list(dir)) {
            assertEquals(List.of("cache", "m.zip", "m.zip.sha256"),
                    left.map(p -> p.getFileName().toString()).sorted().toList(),
                    "the download was converted and deleted");
        }
        Path p = dir.resolve("p.npy");
        assertEquals(0, run("predict", "--model", zip.toString(), "--input", torch121.input().toString(), "--output",
                p.toString()).code());
        INDArray expected = Npy.read(torch121.logProbabilities());
        double diff = Transforms.abs(Transforms.log(Npy.read(p), true).sub(expected)).maxNumber().doubleValue();
        assertTrue(diff <= 1e-3, "max |log p - log p_torch| = " + diff);
    }

    @Test
    void aWrongHashIsOneLineAndLeavesNothing() throws Exception {
        Path zip = dir.resolve("m.zip");
        assertBadInput(run("fetch", "--model", "densenet121", "--from", base + "/model.pth", "--sha256",
                "00000000" + sha256.substring(8), "--out", zip.toString()),
                base + "/model.pth: its SHA-256 is " + sha256, "expected 00000000");
        assertBadInput(run("fetch", "--model", "densenet121", "--from", base + "/model.pth", "--out", zip.toString()),
                "--from and --sha256 go together");
        try (var left = Files.list(dir)) {
            assertEquals(List.of("cache"), left.map(p -> p.getFileName().toString()).toList());
        }
    }

    @Test
    void aMirrorWithOtherBytesAndTheOfflineSwitchLeaveTheCacheAlone() throws Exception {
        // Downloads on (the build turns them off for every test), from this test's loopback mirror only.
        System.setProperty("densenet4j.offline", "false");
        System.setProperty("densenet4j.weights.baseUrl", base + "/mirror");
        Path cached = ModelFiles.cachedModel("densenet121", PretrainedType.IMAGENET);
        assertBadInput(run("fetch", "--model", "densenet121", "--source", "keras"),
                base + "/mirror/densenet121_weights_tf_dim_ordering_tf_kernels.h5: its MD5 is ",
                "expected 9d60b8095a5708f2dcce2bca79d332c7",
                "to do it by hand, download " + base + "/mirror/densenet121_weights_tf_dim_ordering_tf_kernels.h5",
                // the library's manual step is in library terms; the command line adds its command
                "convert it with KerasDenseNetImporter (layout keras2) and write the model zip to " + cached,
                "with the command line, for a file downloaded by hand: densenet convert --weights "
                        + "densenet121_weights_tf_dim_ordering_tf_kernels.h5 --model densenet121 --install");
        IOException e = assertThrows(IOException.class, () -> new DenseNet121().initPretrained());
        assertTrue(e.getMessage().startsWith(base + "/mirror/densenet121-a639ec97.pth: its SHA-256 is " + sha256
                        + ", expected a639ec97"),
                "initPretrained() downloads the default source (torchvision for every preset): " + e.getMessage());
        assertFalse(e.getMessage().contains("densenet convert") || e.getMessage().contains("--"),
                "the library names no command line: " + e.getMessage());
        assertFalse(Files.exists(cached), "the cache is as it was");

        System.setProperty("densenet4j.offline", "true");
        IOException off = assertThrows(IOException.class, () -> new DenseNet121().initPretrained());
        assertTrue(off.getMessage().contains("not downloaded, downloads are off"), off.getMessage());
        try (var left = Files.list(cached.getParent())) {
            assertEquals(0, left.count(), "nothing is left in the cache");
        }
    }

    @Test
    void twoFetchesAtOnceEachWriteAWholeFile() throws Exception {
        Path zip = dir.resolve("both.zip");
        ExecutorService pool = Executors.newFixedThreadPool(2);
        List<Future<?>> runs = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            runs.add(pool.submit(() -> {
                PretrainedWeights.fetch(URI.create(base + "/model.pth"), new Download.Expected("SHA-256", sha256),
                        DenseNetPreset.DENSENET121.config(), WeightLayout.TORCHVISION, zip, true,
                        Download.Options.defaults(null)).close();
                return null;
            }));
        }
        for (Future<?> f : runs) {
            f.get();
        }
        pool.shutdown();
        assertEquals(8_062_504, ModelFiles.read(zip, true).numParams(), "a whole, checked model");
        try (var left = Files.list(dir)) {
            assertEquals(List.of("both.zip", "both.zip.sha256", "cache"),
                    left.map(p -> p.getFileName().toString()).sorted().toList());
        }
    }

    /**
     * {@code fetch --list} prints the whole catalog with what each publisher states (the values are
     * pinned against the publishers in PublisherCatalogTest and PublishedTransformsTest), each
     * preset's default marked, and downloads nothing.
     */
    @Test
    void listPrintsTheCatalogWithEachPresetsDefaultMarked() throws Exception {
        Cli.Run r = run("fetch", "--list");
        assertEquals(0, r.code(), r.err());
        for (PretrainedWeights w : PretrainedWeights.values()) {
            String head = (w.isDefault() ? "* " : "  ") + String.format("%-12s %-12s %s", w.preset().id(),
                    w.source().id(), w.fileName());
            assertTrue(r.out().contains(head), "'" + head + "' in:\n" + r.out());
            for (String v : List.of(w.url().toString(), w.expected().toString(), w.transform().describe(),
                    w.classes().description(), w.publisherAccuracy(), w.licence().describe())) {
                assertTrue(r.out().contains(v), w.name() + ": '" + v + "' in:\n" + r.out());
            }
        }
        assertEquals(4, r.out().lines().filter(l -> l.startsWith("* ")).count(), r.out());
        assertTrue(r.out().contains("* densenet121  torchvision  densenet121-a639ec97.pth"), r.out());
        assertTrue(r.out().contains("SHA-256 starting a639ec97"), r.out());
        assertTrue(r.out().contains("74.434% top-1"), r.out());
        assertTrue(r.out().contains("code: BSD-3-Clause; weights: not stated"), r.out());

        Cli.Run one = run("fetch", "--list", "--model", "densenet161");
        assertEquals(0, one.code(), one.err());
        assertTrue(one.out().contains("* densenet161  torchvision  densenet161-8d451a50.pth"), one.out());
        assertFalse(one.out().contains("densenet121"), one.out());
        assertBadInput(run("fetch"), "--model is required to fetch (or --list to see the catalog)");
        assertBadInput(run("fetch", "--model", "densenet264"), "no published ImageNet weights of densenet264",
                "densenet fetch --list");
        try (var left = Files.list(dir.resolve("cache"))) {
            assertEquals(0, left.count(), "listing downloads nothing");
        }
    }
}
