/* placeholder until tripod-analyze lands */
int main(void) { return 0; }
