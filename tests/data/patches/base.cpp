// A stand-in for a variant file: the patch tests apply their fixtures to it.
namespace untorn::kern::base {

int pick(int flags, int len)
{
	if (flags & 1)
		return 1;
	if (len > 1)
		return -22;
	return 0;
}

int convert(int flags, bool dax)
{
	int error = 0;
	if (flags & 2) {
		error = step(flags);
		if (error)
			return error;
	}
	return finish(flags, dax);
}

int finish(int flags, bool dax)
{
	if (len > 1)
		return -22;
	return 0;
}

} // namespace untorn::kern::base
