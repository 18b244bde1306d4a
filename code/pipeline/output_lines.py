"""What the lines of other tools' output mean to the terminal (terminal.py): noise that only the
log keeps, progress to count (pip, podman, debootstrap, the prepare notebook's decoding), what a
notebook found. Datalad's outcomes and a notebook's cells come as data (terminal.py, events.py).

Standard library only.
"""
import re

# Lines only the log keeps: papermill's cell markers, Jupyter's and datalad's chatter, the
# engine's layer copying, pip's and debootstrap's per-package lines, notebook set-up output.
NOISE = re.compile("|".join([
    r"(Input|Output) Notebook:", r"Executing notebook with kernel:", r"(Executing|Ending) Cell \d+",
    r"\[IPKernelApp\] (WARNING \| Kernel is running over TCP|ERROR \| KeyboardInterrupt caught)",
    r"cell \d+: [\d.]+ s$",  # papermill_stable's slow cells: the outcome line has the time
    r"\[INFO\] ", r"action summary:", r"  \w[\w-]* \((ok|notneeded|impossible|error): \d+",
    # a result rendered as text by a nested datalad call (containers-add's save) that also came
    # as JSON: counted from the JSON; failures stay visible
    r"[\w-]+\((ok|notneeded)\): ",
    r"  \[\d+ similar messages? ha(s|ve) been suppressed", r"\(recording state in git\.\.\.\)",
    r"Your branch is (ahead of|behind|up to date)", r'  \(use "git (push|pull)',
    r"Getting image source signatures", r"Copying (blob|config) ", r"Writing manifest",
    r"Storing signatures", r"--> ", r"[0-9a-f]{64}$", r"COMMIT ",
    r"I: ", r"  (Downloading|Using cached|Obtaining|Installing build|Getting requirements|"
    r"Preparing metadata|Building wheel|Created wheel|Stored in directory)\b",
    r"\s*━", r"Requirement already satisfied", r"Processing ", r"Building wheels? for",
    r"Successfully (built|installed) ", r"Installed kernelspec",
    r"\S+\.py:\d+: UserWarning: IPython parent", r"  warn\(", r"\[notice\] ",
    r"Looking in (indexes|links): ",
    r"\s+(Attempting uninstall|Found existing installation|Uninstalling|Successfully uninstalled)",
]))
# pip's warnings about find-links folders of this machine's pip configuration that do not exist:
# counted and named once, not once per package.
PIP_INSTALLED = re.compile(r"Successfully installed (.+)")
MISSING_FIND_LINKS = re.compile(r"WARNING: Location '.*' is ignored: "
                                r"it is neither a file nor a directory\.")
DATALAD_INFO = re.compile(r"\[INFO\] ([^=\s].*?)\s*$")  # not its "== Command start" banners
# Inside a cell, the notebook's own output: only what it found (counts, test accuracy, problems)
# is shown; the environment listing, table heads and figure placeholders stay in the log.
NOTEBOOK_SHOWS = re.compile(
    r"^accuracy:|^\d+ training images|skipped|^note:|warning|error|traceback", re.IGNORECASE)
# Progress a command reports, as (pattern, label, unit); groups: done[, total].
PROGRESS = [
    (re.compile(r"loaded (\d+)/(\d+) images"), "decoding images", "images"),
    (re.compile(r"features of (\d+)/(\d+) images"), "computing features", "images"),
    (re.compile(r"STEP (\d+)/(\d+): "), "building the image", "steps"),
    (re.compile(r"Collecting \S"), "pip: collecting packages", "packages"),
    (re.compile(r"Installing collected packages: "), "pip: installing packages", ""),
    (re.compile(r"I: Retrieving \S+ "), "debootstrap: downloading packages", "packages"),
    (re.compile(r"I: (Extracting|Unpacking) \S"), "debootstrap: unpacking packages", "packages"),
    (re.compile(r"I: Configuring \S"), "debootstrap: configuring packages", "packages"),
    (re.compile(r"Copying blob "), "copying image layers", "layers"),
]
