package org.densenet4j.cli;

import static org.densenet4j.cli.Cli.assertBadInput;
import static org.densenet4j.cli.Cli.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.stream.IntStream;

import javax.imageio.ImageIO;

import org.densenet4j.io.Npy;
import org.densenet4j.preprocess.ImageNetClasses;
import org.densenet4j.zoo.DenseNetConfig;
import org.densenet4j.zoo.DenseNetZooModel;
import org.densenet4j.zoo.io.ModelCard;
import org.densenet4j.zoo.io.ModelFiles;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.shade.jackson.core.type.TypeReference;
import org.nd4j.shade.jackson.databind.ObjectMapper;

/**
 * {@code densenet eval} on generated image sets of tiny models. The expected accuracies come from
 * the model's own probabilities as {@code densenet predict --output} writes them: each image is
 * put in the class folder (or given the label) of its best, its third-best or its last class, so
 * that the set holds top-1 hits, top-5-only hits and misses in known numbers.
 */
class EvalCommandTest {

    private static final List<String> NAMES = List.of("ant", "bee", "wild cat", "dog", "eel", "fox", "gnu", "hen");

    @TempDir
    Path dir;

    /** The class ranks that image i is labelled with: its best class, its third best, its worst. */
    private static int rankOf(int image) {
        return image % 3 == 0 ? 0 : image % 3 == 1 ? 2 : -1;
    }

    /** A tiny colour DenseNet (32x32, torch preprocessing) of {@code labels.size()} classes with those names stored. */
    private Path tinyModel(String name, int classes, List<String> labels) throws Exception {
        DenseNetConfig config = DenseNetConfig.builder().stem(DenseNetConfig.Stem.CIFAR).growthRate(4)
                .initialFilters(8).blockLayers(2, 2).bottleneck(true).compression(0.5).numClasses(classes)
                .inputShape(32, 32, 3).seed(7).build();
        Path zip = dir.resolve(name + ".zip");
        ModelFiles.write(new DenseNetZooModel("tiny", config).init(), zip, false, null, Map.of(), false,
                new ModelCard("torch", 32, 32, 3, labels, Map.of()));
        return zip;
    }

    /** {@code n} noisy colour images of different hues in a new folder, named by {@code name(i)}. */
    private Path images(String folder, int n, java.util.function.IntFunction<String> name) throws Exception {
        Path root = Files.createDirectories(dir.resolve(folder));
        Random rnd = new Random(11);
        for (int i = 0; i < n; i++) {
            BufferedImage img = new BufferedImage(40, 36, BufferedImage.TYPE_INT_RGB);
            int r = rnd.nextInt(256);
            int g = rnd.nextInt(256);
            int b = rnd.nextInt(256);
            for (int y = 0; y < 36; y++) {
                for (int x = 0; x < 40; x++) {
                    int v = rnd.nextInt(60) - 30;
                    img.setRGB(x, y, clamp(r + v) << 16 | clamp(g + v + x) << 8 | clamp(b + v + y));
                }
            }
            ImageIO.write(img, "png", root.resolve(name.apply(i)).toFile());
        }
        return root;
    }

    private static int clamp(int v) {
        return Math.max(0, Math.min(255, v));
    }

    /**
     * Each image's classes from best to worst, as {@code predict} computes them for the (sorted)
     * images of {@code folder}.
     */
    private List<int[]> predictedRanking(Path model, Path folder) throws Exception {
        Path p = dir.resolve(folder.getFileName() + "-p.npy");
        Cli.Run r = run("predict", "--model", model.toString(), "--images", folder.toString(), "--output", p.toString(),
                "--force");
        assertEquals(0, r.code(), r.err());
        INDArray probabilities = Npy.read(p);
        List<int[]> ranking = new ArrayList<>();
        for (int i = 0; i < probabilities.size(0); i++) {
            float[] row = probabilities.getRow(i).toFloatVector();
            int[] order = IntStream.range(0, row.length).boxed()
                    .sorted(Comparator.comparingDouble(c -> -row[c])).mapToInt(Integer::intValue).toArray();
            // The labelled ranks must not be within float noise of a neighbour (eval batches differently).
            for (int rank : new int[] {0, 2, 4}) {
                assertTrue(row[order[rank]] - row[order[rank + 1]] > 1e-6 * row[order[rank]],
                        "image " + i + ": classes at ranks " + rank + " and " + (rank + 1) + " are too close");
            }
            ranking.add(order);
        }
        return ranking;
    }

    /** The class image {@code i} is labelled with. */
    private static int truth(List<int[]> ranking, int i) {
        int[] order = ranking.get(i);
        int rank = rankOf(i);
        return order[rank >= 0 ? rank : order.length - 1];
    }

    /** The accuracy lines eval should print for {@code ranking} labelled by {@link #truth}. */
    private static String[] expectedAccuracy(List<int[]> ranking, int skipped) {
        int n = ranking.size();
        int top1 = 0;
        int top5 = 0;
        for (int i = 0; i < n; i++) {
            int t = truth(ranking, i);
            int rank = Arrays.stream(ranking.get(i)).boxed().toList().indexOf(t);
            top1 += rank == 0 ? 1 : 0;
            top5 += rank < 5 ? 1 : 0;
        }
        return new String[] {"Images evaluated: " + n + " (" + skipped + " skipped)",
            String.format(Locale.ROOT, "Top-1 accuracy: %.2f%% (%d/%d)", 100.0 * top1 / n, top1, n),
            String.format(Locale.ROOT, "Top-5 accuracy: %.2f%% (%d/%d)", 100.0 * top5 / n, top5, n)};
    }

    private static void assertPrints(Cli.Run r, String... lines) {
        assertEquals(0, r.code(), r.err());
        for (String line : lines) {
            assertTrue(r.out().contains(line),
                    () -> "expected '" + line + "' in:\n" + r.out() + "\nstderr:\n" + r.err());
        }
    }

    @Test
    void classFoldersOfStoredNamesSkipBadFilesAndMatchPredict() throws Exception {
        Path model = tinyModel("named", NAMES.size(), NAMES);
        Path flat = images("flat", 9, i -> "img" + i + ".png");
        List<int[]> ranking = predictedRanking(model, flat);

        Path set = Files.createDirectories(dir.resolve("set"));
        for (int i = 0; i < 9; i++) {
            Path folder = Files.createDirectories(set.resolve(NAMES.get(truth(ranking, i))));
            Files.copy(flat.resolve("img" + i + ".png"), folder.resolve("img" + i + ".png"));
        }
        Path some = Files.list(set).sorted().findFirst().orElseThrow();
        byte[] png = Files.readAllBytes(flat.resolve("img0.png"));
        Files.write(some.resolve("broken.png"), Arrays.copyOf(png, png.length / 2)); // truncated
        Files.writeString(some.resolve("notes.txt"), "not an image\n");

        Path report = dir.resolve("report.json");
        Cli.Run r = run("eval", "--model", model.toString(), "--images", set.toString(), "--batch", "4",
                "--out", report.toString());
        assertPrints(r, expectedAccuracy(ranking, 2));
        assertTrue(r.out().contains("images/s"), r.out());
        assertTrue(r.err().contains("skipped " + some.resolve("broken.png")), r.err());
        assertTrue(r.err().contains("skipped " + some.resolve("notes.txt")), r.err());
        assertTrue(r.err().contains("evaluating: 9 images evaluated, 2 skipped"), r.err());

        // The report's per-image predictions are predict's.
        Map<String, Object> json = new ObjectMapper().readValue(report.toFile(), new TypeReference<>() { });
        assertEquals(9, json.get("evaluated"));
        assertEquals(2, json.get("skipped"));
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> rows = (List<Map<String, Object>>) json.get("images");
        assertEquals(11, rows.size());
        int checked = 0;
        for (Map<String, Object> row : rows) {
            String file = Path.of((String) row.get("file")).getFileName().toString();
            if (row.containsKey("error")) {
                assertTrue(file.equals("broken.png") || file.equals("notes.txt"), file);
                continue;
            }
            int i = Integer.parseInt(file.replaceAll("\\D", ""));
            @SuppressWarnings("unchecked")
            List<Map<String, Object>> top = (List<Map<String, Object>>) row.get("top");
            assertEquals(5, top.size());
            for (int rank = 0; rank < 5; rank++) {
                assertEquals(ranking.get(i)[rank], top.get(rank).get("index"), file + " rank " + rank);
            }
            assertEquals(NAMES.get(ranking.get(i)[0]), top.get(0).get("label"));
            assertEquals(truth(ranking, i), row.get("truth"));
            assertEquals(rankOf(i) == 0, row.get("top1Correct"), file);
            assertEquals(rankOf(i) >= 0, row.get("top5Correct"), file);
            checked++;
        }
        assertEquals(9, checked);

        // The flat folder with a labels file of the stored names (one with a space), comma-separated with a header.
        StringBuilder labels = new StringBuilder("file,label\n");
        for (int i = 0; i < 9; i++) {
            labels.append("img").append(i).append(".png, ").append(NAMES.get(truth(ranking, i))).append('\n');
        }
        Path labelsFile = Files.writeString(dir.resolve("labels.csv"), labels);
        assertPrints(run("eval", "--model", model.toString(), "--images", flat.toString(), "--labels",
                labelsFile.toString()), expectedAccuracy(ranking, 0));

        // --limit takes a file from each class folder in turn; CSV has a row per file and a header.
        Path csv = dir.resolve("report.csv");
        Cli.Run limited = run("eval", "--model", model.toString(), "--images", set.toString(), "--limit", "3",
                "--out", csv.toString());
        assertEquals(0, limited.code(), limited.err());
        List<String> lines = Files.readAllLines(csv);
        assertEquals(4, lines.size(), String.join("\n", lines));
        assertTrue(lines.get(0).startsWith("file,given,truth,truth_label,top1,top1_label,top1_probability,"),
                lines.get(0));
        assertEquals(3, lines.stream().skip(1).map(l -> l.split(",")[1]).distinct().count(), "three classes: " + lines);
        assertTrue(limited.out().contains("Images evaluated: "), limited.out());
    }

    @Test
    void imageNetModelTakesWordNetIdAndIndexFoldersAndTheLabelsFileForms() throws Exception {
        Path model = tinyModel("imagenet", 1000, ImageNetClasses.imageNet()); // as convert stores a 1000-class model
        List<String> wnids = ImageNetClasses.wordNetIds();
        int n = 9;
        Path flat = images("val", n, i -> String.format(Locale.ROOT, "ILSVRC2012_val_%08d.png", i + 1));
        List<int[]> ranking = predictedRanking(model, flat);
        String[] expected = expectedAccuracy(ranking, 0);

        // Class folders named by WordNet id, and by class index.
        Path set = Files.createDirectories(dir.resolve("set"));
        for (int i = 0; i < n; i++) {
            int t = truth(ranking, i);
            Path folder = Files.createDirectories(set.resolve(i % 2 == 0 ? wnids.get(t) : Integer.toString(t)));
            Files.copy(flat.resolve(name(i)), folder.resolve(name(i)));
        }
        assertPrints(run("eval", "--model", model.toString(), "--images", set.toString(), "--batch", "2"), expected);

        // FILE WNID lines.
        StringBuilder byWnid = new StringBuilder();
        StringBuilder byIndex = new StringBuilder();
        StringBuilder kaggle = new StringBuilder("ImageId,PredictionString\n");
        StringBuilder perLine = new StringBuilder();
        for (int i = n - 1; i >= 0; i--) { // any order
            int t = truth(ranking, i);
            byWnid.append(name(i)).append(' ').append(wnids.get(t)).append('\n');
            byIndex.append(name(i)).append('\t').append(t).append('\n');
            kaggle.append(name(i).replace(".png", "")).append(',').append(wnids.get(t)).append(" 1 2 30 40 ")
                    .append(wnids.get(t)).append(" 5 6 20 20\n");
        }
        for (int i = 0; i < n; i++) {
            perLine.append(wnids.get(truth(ranking, i))).append('\n');
        }
        Path wnidFile = Files.writeString(dir.resolve("wnids.txt"), byWnid);
        assertPrints(run("eval", "--model", model.toString(), "--images", flat.toString(), "--labels",
                wnidFile.toString()), expected);
        // FILE INDEX lines (Caffe's val.txt form).
        Path indexFile = Files.writeString(dir.resolve("val.txt"), byIndex);
        assertPrints(run("eval", "--model", model.toString(), "--images", flat.toString(), "--labels",
                indexFile.toString()), expected);
        // Kaggle's LOC_val_solution.csv, kept in the image folder itself (not taken for an image).
        Path kaggleFile = Files.writeString(flat.resolve("LOC_val_solution.csv"), kaggle);
        assertPrints(run("eval", "--model", model.toString(), "--images", flat.toString(), "--labels",
                kaggleFile.toString(), "--batch", "3"), expected);
        Files.delete(kaggleFile);
        // One WordNet id per line, ILSVRC2012_val_NNNNNNNN by number: with --limit 4, the first four.
        Path lineFile = Files.writeString(dir.resolve("synsets.txt"), perLine);
        assertPrints(run("eval", "--model", model.toString(), "--images", flat.toString(), "--labels",
                lineFile.toString()), expected);
        assertPrints(run("eval", "--model", model.toString(), "--images", flat.toString(), "--labels",
                lineFile.toString(), "--limit", "4"), expectedAccuracy(ranking.subList(0, 4), 0));

        // The devkit's ground truth (ILSVRC2012_IDs, meta.mat order) is refused, not misread.
        Path devkit = Files.writeString(dir.resolve("ILSVRC2012_validation_ground_truth.txt"),
                "490\n361\n171\n822\n297\n482\n13\n704\n599\n");
        assertBadInput(run("eval", "--model", model.toString(), "--images", flat.toString(), "--labels",
                devkit.toString()), "ILSVRC2012_validation_ground_truth.txt", "meta.mat",
                "not the model's class order");
        // A file without a label is reported and skipped.
        Path partial = Files.writeString(dir.resolve("partial.txt"), byWnid.substring(byWnid.indexOf("\n") + 1));
        Cli.Run r = run("eval", "--model", model.toString(), "--images", flat.toString(), "--labels",
                partial.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("skipped " + flat.resolve(name(n - 1)) + ": no label in " + partial), r.err());
        assertTrue(r.out().contains("Images evaluated: " + (n - 1) + " (1 skipped)"), r.out());
    }

    private static String name(int i) {
        return String.format(Locale.ROOT, "ILSVRC2012_val_%08d.png", i + 1);
    }

    @Test
    void unknownClassesAndBadOptionsAreOneLineErrors() throws Exception {
        Path named = tinyModel("named", NAMES.size(), NAMES);
        Path imageNet = tinyModel("imagenet", 1000, List.of());
        Path set = dir.resolve("set");
        images("set/n01440764", 1, i -> "a.png");
        images("set/n99999999", 1, i -> "b.png");
        assertBadInput(run("eval", "--model", imageNet.toString(), "--images", set.toString()),
                set.resolve("n99999999") + ": the class folder 'n99999999' is not a class of the model; expected a "
                        + "WordNet id of the model's ImageNet classes (n01440764 .. n15075141) or a class index "
                        + "0..999");
        assertBadInput(run("eval", "--model", named.toString(), "--images", set.toString()),
                "the class folder 'n01440764' is not a class of the model; expected one of the model's class names "
                        + "(ant, bee, wild cat, dog, eel, fox, gnu, hen) or a class index 0..7");

        Path flat = images("flat", 2, i -> "x" + i + ".png");
        Path bad = Files.writeString(dir.resolve("bad.txt"), "x0.png wild cat\nx1.png zebra crossing\n");
        assertBadInput(run("eval", "--model", named.toString(), "--images", flat.toString(), "--labels",
                bad.toString()),
                bad + " line 2: the label 'zebra crossing' is not a class of the model");
        assertBadInput(run("eval", "--model", named.toString(), "--images", flat.toString()),
                flat + ": has no class folders");
        Path twice = Files.writeString(dir.resolve("twice.txt"), "x0.png ant\nx1.png bee\nx0.png dog\n");
        assertBadInput(run("eval", "--model", named.toString(), "--images", flat.toString(), "--labels",
                twice.toString()), twice + " line 3: x0.png is labelled 'dog' here and 'ant' on line 1");
        Path count = Files.writeString(dir.resolve("count.txt"), "ant\n");
        assertBadInput(run("eval", "--model", named.toString(), "--images", flat.toString(), "--labels",
                count.toString()), "has 1 labels, one per line for the images of " + flat + " in sorted order, but "
                + "that folder holds 2 images");

        Path binary = Files.write(dir.resolve("labels.bin"), new byte[] {(byte) 0xff, (byte) 0xfe, 0, 1});
        assertBadInput(run("eval", "--model", named.toString(), "--images", flat.toString(), "--labels",
                binary.toString()), binary + ": not a text file (UTF-8) of labels");

        Path exists = Files.writeString(dir.resolve("r.json"), "{}");
        assertBadInput(run("eval", "--model", named.toString(), "--images", flat.toString(), "--out",
                exists.toString()), "r.json: exists; pass --force");
        assertBadInput(run("eval", "--model", named.toString(), "--images", flat.toString(), "--out", "r.txt"),
                "--out must end in .json or .csv");
        assertBadInput(run("eval", "--model", named.toString(), "--images", flat.toString(), "--batch", "0"),
                "--batch must be at least 1");
        assertBadInput(run("eval", "--model", dir.resolve("none.zip").toString(), "--images", set.toString()),
                "none.zip");
        assertFalse(Files.exists(dir.resolve("r.txt")));
    }

    @Test
    void theWordNetIdsAreImageNetsInClassOrder() {
        List<String> ids = ImageNetClasses.wordNetIds();
        assertEquals(1000, ids.size());
        for (int i = 1; i < ids.size(); i++) {
            assertTrue(ids.get(i - 1).compareTo(ids.get(i)) < 0, "sorted and distinct at " + i);
            assertTrue(ids.get(i).matches("n\\d{8}"), ids.get(i));
        }
        // Pairs of Caffe's synset_words.txt (as in shicai/MobileNet-Caffe's synset.txt, line 1, 66 and 1000),
        // against torchvision's names of the same class index.
        List<String> names = ImageNetClasses.imageNet();
        assertEquals("tench", names.get(ids.indexOf("n01440764")));
        assertEquals("sea snake", names.get(ids.indexOf("n01751748")));
        assertEquals("toilet tissue", names.get(ids.indexOf("n15075141")));
    }
}
