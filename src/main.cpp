#include "connector/app/commands.hpp"

int main(int argc, char** argv) {
  return connector::app::run_cli(argc, argv);
}
