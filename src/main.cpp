// pgsplit entry point: only dispatches. Everything else is in the pgsplit_lib library.
#include "commands/cli.h"

extern char** environ;

int main(int argc, char** argv) {
    return pgsplit::RunCli(argc, argv, environ);
}
