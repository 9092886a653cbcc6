package org.densenet4j.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

import org.densenet4j.examples.ComparisonReport;
import org.densenet4j.examples.FashionMnist;
import org.densenet4j.examples.ModelComparison;
import org.densenet4j.examples.ModelComparison.Contender;
import org.densenet4j.training.Epoch;
import org.nd4j.linalg.dataset.DataSet;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code densenet compare}: d2l's ResNet-18 and DenseNet trained side by side on Fashion-MNIST, as the book does. */
@Command(name = "compare", mixinStandardHelpOptions = true,
        description = {"Train d2l's ResNet-18 (resnet18-d2l) and DenseNet (densenet-d2l) one after the other on "
                + "Fashion-MNIST with the book's settings (images resized to 96x96, batches of 256, 10 epochs, SGD at "
                + "0.05 and 0.1, no augmentation) and write a side-by-side table (comparison.md), the curves "
                + "(comparison.csv) and one plot of both (comparison.png) into --out. Every epoch is checkpointed "
                + "there: --resume continues a stopped comparison."})
final class CompareCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--out", defaultValue = "compare",
            description = "Folder of the checkpoints, results, table, curves and plot (default: ${DEFAULT-VALUE}).")
    Path out;

    @Option(names = "--models", split = ",", defaultValue = "resnet18-d2l,densenet-d2l",
            description = "Which of resnet18-d2l and densenet-d2l to train, in order (default: ${DEFAULT-VALUE}).")
    List<String> models;

    @Option(names = "--data-dir", defaultValue = FashionMnist.DEBIAN_DIR,
            description = "Folder of the Fashion-MNIST IDX files (default: ${DEFAULT-VALUE}).")
    Path dataDir;

    @Option(names = "--epochs", defaultValue = "10", description = "Epochs (default: ${DEFAULT-VALUE}, the book's).")
    int epochs;

    @Option(names = "--batch", defaultValue = "256", description = "Batch size (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--size", defaultValue = "96",
            description = "Side the 28x28 images are resized to (default: ${DEFAULT-VALUE}).")
    int size;

    @Option(names = "--seed", defaultValue = "42", description = "Random seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--limit", defaultValue = "0", description = "Use only the first N training images (0: all).")
    int limit;

    @Option(names = "--test-limit", defaultValue = "0", description = "Use only the first N test images (0: all).")
    int testLimit;

    @Option(names = "--resume", description = "Continue the comparison in --out: finished models are taken as they "
            + "are, an unfinished one continues from its checkpoint; the settings must be the same.")
    boolean resume;

    @Option(names = "--force", description = "Start over: delete the comparison in --out and replace its outputs.")
    boolean force;

    @Mixin
    EngineOption engine;

    @Override
    public Integer call() throws Exception {
        ModelComparison.Settings settings;
        try {
            settings = new ModelComparison.Settings(epochs, batch, size, seed);
        } catch (IllegalArgumentException e) {
            throw new UserError("--epochs, --batch and --size must be >= 1");
        }
        if (resume && force) {
            throw new UserError("--resume and --force contradict each other: continue the comparison, or start over");
        }
        List<Contender> contenders = contenders();
        ModelComparison comparison = new ModelComparison(out, settings, engine.compiled());
        List<Path> outputs = List.of(out.resolve(ComparisonReport.TABLE), out.resolve(ComparisonReport.CURVES),
                out.resolve(ComparisonReport.PLOT));
        if (force) {
            comparison.clear(contenders);
        } else if (!resume) {
            if (comparison.hasState(contenders)) {
                throw new UserError(out + ": holds an earlier comparison; pass --resume to continue it or --force to "
                        + "start over");
            }
            for (Path p : outputs) {
                if (Files.exists(p)) {
                    throw new UserError(p + ": exists; pass --force to replace it");
                }
            }
        }
        DataSet train = FashionMnist.load(dataDir, true, limit);
        DataSet test = FashionMnist.load(dataDir, false, testLimit);

        PrintWriter o = spec.commandLine().getOut();
        o.printf("Comparing %s on Fashion-MNIST: %,d training and %,d test images resized to %dx%d, %d epochs of "
                + "batches of %d, SGD; %s; into %s%n", String.join(" and ", contenders.stream().map(Contender::name)
                .toList()), train.numExamples(), test.numExamples(), size, size, epochs, batch, Backend.describe(),
                out);
        List<ModelComparison.Result> results;
        try {
            results = comparison.run(contenders, train, test, FashionMnist.d2lInput(size), listener(o));
        } catch (IOException e) {
            if (e.getMessage() != null && e.getMessage().startsWith(out.toString())) {
                throw new UserError(e.getMessage()); // a checkpoint or result of other settings, or damaged
            }
            throw e;
        }
        ComparisonReport.write(out, results, settings);
        o.println();
        o.print(ComparisonReport.table(results, settings));
        o.printf("%nWrote %s%n", String.join(", ", outputs.stream().map(Path::toString).toList()));
        return 0;
    }

    /** The contenders of {@code --models}, in their order. */
    private List<Contender> contenders() {
        List<Contender> known = ModelComparison.d2lContenders(size);
        List<Contender> chosen = new ArrayList<>();
        for (String m : models) {
            String id = m.trim().toLowerCase(Locale.ROOT);
            Contender c = known.stream().filter(k -> k.name().equals(id)).findFirst().orElseThrow(() -> new UserError(
                    "--models: unknown model '" + m + "'; known: "
                            + String.join(", ", known.stream().map(Contender::name).toList())));
            if (chosen.contains(c)) {
                throw new UserError("--models names " + id + " twice");
            }
            chosen.add(c);
        }
        return chosen;
    }

    private ModelComparison.Listener listener(PrintWriter o) {
        return new ModelComparison.Listener() {
            private Progress bar;
            private String name;

            @Override
            public void starting(Contender contender, long parameters, String engineUsed, int epochsDone) {
                name = contender.name();
                o.printf("%s (%,d parameters, lr %s): %s%s%n", name, parameters, contender.learningRate(),
                        engineUsed, epochsDone > 0 ? ", resuming after epoch " + epochsDone : "");
            }

            @Override
            public void batch(int epoch, int batchesDone, int batches, double loss, double accuracy,
                    double perSecond) {
                if (batchesDone == 1) {
                    bar = new Progress(o, name + " epoch " + epoch + "/" + epochs, batches);
                }
                bar.update(batchesDone, String.format(Locale.ROOT, "loss %.4f  acc %.4f  %.0f img/s", loss, accuracy,
                        perSecond));
            }

            @Override
            public void epoch(Epoch e) {
                bar.done(String.format(Locale.ROOT, "loss %.4f  acc %.4f  test acc %.4f  %.0f s", e.trainLoss(),
                        e.trainAccuracy(), e.testAccuracy(), e.seconds()));
            }

            @Override
            public void finished(ModelComparison.Result r, boolean earlier) {
                if (earlier) {
                    o.printf("%s: finished earlier (%d epochs, test acc %.4f), taken from %s%n", r.name(),
                            r.epochs().size(), r.last().testAccuracy(), out);
                }
            }
        };
    }
}
