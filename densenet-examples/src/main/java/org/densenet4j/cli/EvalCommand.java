package org.densenet4j.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.UnaryOperator;

import org.densenet4j.engine.CompiledGraph;
import org.densenet4j.examples.ImageModel;
import org.densenet4j.preprocess.ImageNetClasses;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code densenet eval}: top-1 and top-5 accuracy of a model on a labelled folder of images. */
@Command(name = "eval", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Measure a model's top-1 and top-5 accuracy on labelled images, preprocessed as predict does.",
                "",
                "--images DIR is either a folder of class folders (DIR/<class>/<images>, as ImageNet's training set"
                        + " and torchvision's ImageFolder), or, with --labels FILE, a flat folder of images.",
                "A class is named by a WordNet id for an ImageNet model (n01440764 is class 0: the sorted ids, "
                        + "keras' and torchvision's order), by a class name stored in the model (a model trained or "
                        + "fine-tuned here), or by the model's output index (0, 1, ...).",
                "--labels accepts:",
                "  'FILE LABEL' lines, space- or comma-separated (e.g. Caffe's val.txt: "
                        + "ILSVRC2012_val_00000001.JPEG 65);",
                "  Kaggle's LOC_val_solution.csv (ImageId,PredictionString: the file name without extension, then "
                        + "the WordNet id first);",
                "  one label per line (WordNet ids or class names) for the images in sorted file-name order "
                        + "(ILSVRC2012_val_NNNNNNNN files by their number).",
                "The devkit's ILSVRC2012_validation_ground_truth.txt is not accepted: its integers are ILSVRC2012_IDs "
                        + "in the order of the devkit's meta.mat, not the models' class indices.",
                "Unreadable files are reported on stderr and skipped (counted in the summary); the exit code is "
                        + "non-zero only for a bad option, model or labels file.",
                ""})
final class EvalCommand implements Callable<Integer> {

    /** The k of top-k accuracy. */
    static final int TOP = 5;

    @Spec
    CommandSpec spec;

    @Option(names = "--images", required = true, paramLabel = "DIR",
            description = "A folder of class folders, or (with --labels) a flat folder of images.")
    Path images;

    @Option(names = "--labels", paramLabel = "FILE", description = "The classes of a flat folder's images (the "
            + "forms above).")
    Path labels;

    @Option(names = "--limit", paramLabel = "N", description = "Evaluate the first N files only (of a folder of "
            + "class folders: taking a file from each class in turn).")
    Integer limit;

    @Option(names = "--batch", defaultValue = "8", description = "Images per forward pass (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--out", paramLabel = "REPORT", description = "Also write each image's top-5 predictions (and "
            + "each skipped file's reason) to a .json or .csv file.")
    Path out;

    @Option(names = "--force", description = "Replace an existing report file.")
    boolean force;


    @Mixin
    ImageModelOptions input;

    @Mixin
    PrecisionOption precision;

    private ImageModel loaded;
    private org.densenet4j.zoo.io.ImageTransform transform;

    @Override
    public Integer call() throws Exception {
        checkOptions();
        PrintWriter err = spec.commandLine().getErr();
        loaded = input.load();
        ClassIndex classes = ClassIndex.of(loaded, ClassIndex.outputClasses(loaded.net(), input.model));
        EvalSet set = labels == null ? EvalSet.fromClassFolders(images, classes)
                : EvalSet.fromLabelsFile(images, labels, classes);
        if (limit != null) {
            set = set.limit(limit);
        }
        transform = input.transform(loaded, err);

        UnaryOperator<INDArray> infer = CompiledGraph.inference(loaded.net(), precision.engineOptions());
        int k = Math.min(TOP, classes.size());
        EvalReport report = new EvalReport(classes, k);
        List<EvalSet.Entry> entries = set.entries();
        Progress progress = new Progress(err, "evaluating", entries.size());
        long start = System.nanoTime();
        for (int from = 0; from < entries.size(); from += batch) {
            List<EvalSet.Entry> chunk = entries.subList(from, Math.min(entries.size(), from + batch));
            List<EvalSet.Entry> decoded = new ArrayList<>();
            INDArray x = decode(chunk, decoded, report, progress);
            if (x != null) {
                var tops = ImageNetClasses.topK(infer.apply(x), k, classes.labels());
                for (int i = 0; i < decoded.size(); i++) {
                    report.add(decoded.get(i), tops.get(i));
                }
            }
            progress.update(from + chunk.size(), report.evaluated() == 0 ? ""
                    : String.format(Locale.ROOT, "top-1 %.1f%%", 100 * report.top1()));
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        double rate = report.evaluated() / Math.max(seconds, 1e-9);
        progress.done(report.evaluated() + " images evaluated, " + report.skipped() + " skipped");
        printSummary(report, classes.size(), k, seconds, rate);
        if (out != null) {
            Map<String, Object> summary = new LinkedHashMap<>();
            summary.put("model", input.model);
            summary.put("folder", images.toString());
            summary.put("labels", labels == null ? null : labels.toString());
            summary.put("imagesPerSecond", rate);
            summary.put("precision", precision.effective());
            report.write(out, summary);
            spec.commandLine().getOut().println("Wrote " + out);
        }
        return 0;
    }

    private void checkOptions() {
        if (batch < 1) {
            throw new UserError("--batch must be at least 1, was " + batch);
        }
        if (limit != null && limit < 1) {
            throw new UserError("--limit must be at least 1, was " + limit);
        }
        if (out != null) {
            String name = out.getFileName().toString().toLowerCase(Locale.ROOT);
            if (!name.endsWith(".json") && !name.endsWith(".csv")) {
                throw new UserError("--out must end in .json or .csv, was " + out);
            }
            if (Files.exists(out) && !force) {
                throw new UserError(out + ": exists; pass --force to replace it");
            }
        }
        input.check(); // a typo fails before the model loads
    }

    /**
     * The input batch of the entries of {@code chunk} that decode, added to {@code decoded} in order
     * (null when none does); the others are reported on stderr and recorded as skipped.
     */
    private INDArray decode(List<EvalSet.Entry> chunk, List<EvalSet.Entry> decoded, EvalReport report,
                            Progress progress) {
        List<EvalSet.Entry> candidates = new ArrayList<>();
        for (EvalSet.Entry e : chunk) {
            if (e.problem() != null) {
                skip(e, e.file() + ": " + e.problem(), report, progress);
            } else {
                candidates.add(e);
            }
        }
        if (candidates.isEmpty()) {
            return null;
        }
        try {
            INDArray x = inputBatch(candidates.stream().map(EvalSet.Entry::file).toList());
            decoded.addAll(candidates);
            return x;
        } catch (IOException whole) {
            // One file spoils the batch: decode them one by one to find each bad one.
            List<INDArray> rows = new ArrayList<>();
            for (EvalSet.Entry e : candidates) {
                try {
                    rows.add(inputBatch(List.of(e.file())));
                    decoded.add(e);
                } catch (IOException bad) {
                    skip(e, bad.getMessage(), report, progress);
                }
            }
            return rows.isEmpty() ? null : Nd4j.concat(0, rows.toArray(INDArray[]::new));
        }
    }

    /**
     * The model's input for {@code files}: decoded, resized and normalised as the model takes them.
     * The one place eval turns image files into a batch.
     *
     * @throws IOException naming a file that does not decode
     */
    private INDArray inputBatch(List<Path> files) throws IOException {
        return loaded.preprocess(files, transform);
    }

    private static void skip(EvalSet.Entry e, String message, EvalReport report, Progress progress) {
        progress.note("skipped " + message);
        report.skip(e, message);
    }

    private void printSummary(EvalReport report, int classes, int k, double seconds, double rate) {
        PrintWriter o = spec.commandLine().getOut();
        o.printf(Locale.ROOT, "Images evaluated: %d (%d skipped), %.1f images/s (decoding included, %.1f s)%n",
                report.evaluated(), report.skipped(), rate, seconds);
        if (report.evaluated() == 0) {
            o.println("Top-1 accuracy: n/a (no image could be evaluated)");
            o.println("Top-" + TOP + " accuracy: n/a");
            return;
        }
        o.printf(Locale.ROOT, "Top-1 accuracy: %.2f%% (%d/%d)%n", 100 * report.top1(), report.top1Hits(),
                report.evaluated());
        o.printf(Locale.ROOT, "Top-%d accuracy: %.2f%% (%d/%d)%s%n", TOP, 100 * report.topK(), report.topKHits(),
                report.evaluated(), k < TOP ? " (the model has " + classes + " classes: every class is in its top "
                        + TOP + ")" : "");
    }
}
