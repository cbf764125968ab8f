// The `untorn` command line: the command table (command_table.cpp), parsed
// and run.  Every command returns one of the ExitCodes.
#include "cli.h"

int main(int argc, char **argv)
{
	return untorn::run_command_line(argc, argv);
}
